using System.Security.Cryptography;
using System.Text;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A validated send: what a turn works with. No <see cref="ConversationId"/> starts a conversation; no
/// <see cref="MessageId"/> lets the server make one. A send of /v1/responses has its <see cref="Response"/> and
/// <see cref="Settings"/>.
/// </summary>
public sealed record TurnRequest(
    string Message, long UserId, string? MessageId, string? ConversationId, string? IdempotencyKey = null,
    ResponseStart? Response = null, TurnSettings? Settings = null, MessageKind? Kind = null)
{
    /// <summary>
    /// The Idempotency-Key with the fingerprint of what it was sent with: the message, the conversation, the
    /// client's message_id and the model it named (message_count is not part of the request's meaning).
    /// </summary>
    public IdempotencyKey? Idempotency() => IdempotencyKey is { } key
        ? new IdempotencyKey(key, SHA256.HashData(Encoding.UTF8.GetBytes(
            // A model named is part of the meaning; a send without one keeps the fingerprint it always had.
            Settings?.Model is { } model ? $"{Message}\0{ConversationId}\0{MessageId}\0{model}" : $"{Message}\0{ConversationId}\0{MessageId}")))
        : null;
}
