using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// A model whose behaviour each test scripts: it records every call and answers by echoing the last user message,
/// unless told to fail, to wait for a gate, or to take longer. (The fake OpenAI server over HTTP belongs to the
/// provider tests; these tests are about the API and its database.)
/// </summary>
public sealed class ScriptedChatClient : IChatClient
{
    private readonly ConcurrentQueue<IReadOnlyList<ChatMessage>> _calls = new();

    public Func<IReadOnlyList<ChatMessage>, CancellationToken, Task<string>>? Behaviour { get; set; }

    public IReadOnlyList<IReadOnlyList<ChatMessage>> Calls => [.. _calls];

    public int CallCount => _calls.Count;

    /// <summary>Back to echoing, with no call recorded: each test of a class that shares the model starts clean.</summary>
    public void Reset()
    {
        Behaviour = null;
        _calls.Clear();
    }

    public static string Echo(IReadOnlyList<ChatMessage> messages) => $"echo: {messages[^1].Text}";

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        _calls.Enqueue(list);
        var text = Behaviour is { } behaviour ? await behaviour(list, cancellationToken) : Echo(list);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { ModelId = "scripted", FinishReason = ChatFinishReason.Stop };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
