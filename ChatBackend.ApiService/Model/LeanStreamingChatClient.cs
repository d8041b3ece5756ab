using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;

namespace ChatBackend.ApiService.Model;

/// <summary>
/// Hands on each streamed update without the provider's own objects. Microsoft.Extensions.AI's OpenTelemetry client,
/// above this one, keeps every update of a stream until it ends (to describe the whole response on its span): with the
/// SDK's parsed chunk attached, that is about a kilobyte a piece, so thousands of long replies at once would hold
/// gigabytes. What stays is what the span and the turn read: usage, finish reason, model and response ids, and the
/// text only while someone reads it.
/// </summary>
/// <param name="innerClient">The provider's client.</param>
/// <param name="keepText">
/// Whether updates keep their text after they were read: the OpenTelemetry client puts the whole reply on its span
/// only when it captures content (EnableSensitiveData); otherwise it reads none of it. Without it, the pieces that
/// carry only text are handed on in one update object, reused for each (its text taken out once read), so that what
/// the OpenTelemetry client keeps of them is a reference a piece: thousands of streams' pieces would otherwise survive
/// collections until their streams end, and make every collection longer.
/// </param>
public sealed class LeanStreamingChatClient(IChatClient innerClient, bool keepText) : DelegatingChatClient(innerClient)
{
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, AiChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ChatResponseUpdate? previous = null;
        ChatResponseUpdate? textCarrier = null;
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            update.RawRepresentation = null;
            var textOnly = true;
            foreach (var content in update.Contents)
            {
                content.RawRepresentation = null;
                textOnly &= content is TextContent;
            }
            // Every chunk carries the same ids, each parsed into a string of its own: one copy serves them all.
            if (previous is not null)
            {
                update.ResponseId = Same(update.ResponseId, previous.ResponseId);
                update.MessageId = Same(update.MessageId, previous.MessageId);
                update.ModelId = Same(update.ModelId, previous.ModelId);
            }
            previous = update;
            if (keepText || !textOnly || update.FinishReason is not null)
            {
                yield return update;
                continue;
            }
            textCarrier ??= new ChatResponseUpdate();
            CopyInto(textCarrier, update);
            yield return textCarrier;
            // Asked for the next one: every client above and the turn have read this piece.
            textCarrier.Contents = null;
        }
    }

    private static void CopyInto(ChatResponseUpdate carrier, ChatResponseUpdate update)
    {
        carrier.Contents = update.Contents;
        carrier.AuthorName = update.AuthorName;
        carrier.Role = update.Role;
        carrier.AdditionalProperties = update.AdditionalProperties;
        carrier.ResponseId = update.ResponseId;
        carrier.MessageId = update.MessageId;
        carrier.ConversationId = update.ConversationId;
        carrier.CreatedAt = update.CreatedAt;
        carrier.ModelId = update.ModelId;
        carrier.ContinuationToken = update.ContinuationToken;
    }

    private static string? Same(string? value, string? previous) => value == previous ? previous : value;
}
