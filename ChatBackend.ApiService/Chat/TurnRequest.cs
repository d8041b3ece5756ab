using System.Security.Cryptography;
using System.Text;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A validated send: what a turn works with. No <see cref="ConversationId"/> starts a conversation; no
/// <see cref="MessageId"/> lets the server make one. A send of /v1/responses has its <see cref="Response"/> and
/// <see cref="Settings"/>. <see cref="Follows"/>: where the turn joins the conversation's tree when it is not after the
/// newest row (a branch). <see cref="RetakeOnly"/>: a takeover's, which takes its message up again only while it is
/// there; one deleted meanwhile (by its user, or as a response not to be stored) is not stored anew.
/// </summary>
public sealed record TurnRequest(
    string Message, long UserId, string? MessageId, string? ConversationId, string? IdempotencyKey = null,
    ResponseStart? Response = null, TurnSettings? Settings = null, MessageKind? Kind = null, BranchPoint? Follows = null,
    long? KeyToCheck = null, bool RetakeOnly = false)
{
    /// <summary>
    /// The Idempotency-Key with the fingerprint of what it was sent with: the message, the conversation, the
    /// client's message_id, the model and the message it follows, when named (message_count is not part of the
    /// request's meaning).
    /// </summary>
    public IdempotencyKey? Idempotency() => IdempotencyKey is { } key
        ? new IdempotencyKey(key, SHA256.HashData(Encoding.UTF8.GetBytes(
            // What a send names beyond the original's fields is part of the meaning; one without keeps the fingerprint
            // it always had.
            $"{Message}\0{ConversationId}\0{MessageId}{Suffix(Settings?.Model)}{Suffix(Follows?.MessageId)}")))
        : null;

    private static string Suffix(string? value) => value is null ? "" : $"\0{value}";
}
