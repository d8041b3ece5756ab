using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;

namespace ChatBackend.ApiService.Model;

/// <summary>
/// The model used when none is configured (SPEC §5): the API still works end to end, and every reply says plainly
/// that no model is behind it.
/// </summary>
public sealed class OfflineChatClient : IChatClient
{
    public const string ModelName = "offline";

    private static readonly ChatClientMetadata Metadata = new("offline", defaultModelId: ModelName);

    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, AiChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var reply = new ChatMessage(ChatRole.Assistant, Reply(messages));
        return Task.FromResult(new ChatResponse(reply) { ModelId = ModelName, FinishReason = ChatFinishReason.Stop });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, AiChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }

    private static string Reply(IEnumerable<ChatMessage> messages)
    {
        var last = messages.LastOrDefault(message => message.Role == ChatRole.User)?.Text ?? "";
        var quoted = last.Length <= 200 ? last : string.Concat(last.AsSpan(0, 200), "…");
        return "No language model is configured on this server, so this is an automatic reply. " +
            $"Your message was received and stored: \"{quoted}\"";
    }
}
