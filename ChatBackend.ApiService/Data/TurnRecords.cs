namespace ChatBackend.ApiService.Data;

public enum MessageStatus
{
    Pending,
    Success,
    Error,
    Cancelled,
}

/// <summary>
/// A turn of <see cref="UserId"/> whose user message is stored as Pending, with the number of its reply reserved.
/// <see cref="Attempt"/> counts the tries of the message: only the latest may store its end.
/// </summary>
public sealed record StartedTurn(
    long UserId, string ConversationId, string MessageId, int MessageNo, int Attempt, bool IsNewConversation)
{
    public int ReplyNo => MessageNo + 1;
}

/// <summary>
/// A response of /v1/responses as its turn begins: what the request asked, as the JSON its reads echo, kept on its user
/// message's row (V18). Its id, that message's message_id, is made from the conversation the turn lands in
/// (<see cref="Ids.NewResponseId"/>): <see cref="StartedTurn.MessageId"/>.
/// </summary>
public sealed record ResponseStart(string Request);

/// <summary>
/// What a turn's message is besides its text: a user's message, or (role tool) the outputs of the tool calls the
/// previous reply made, as JSON.
/// </summary>
public sealed record MessageKind(string Role, string? ToolCalls)
{
    public static readonly MessageKind User = new("user", null);
}

/// <summary>A reply as stored: its text and what OpenAI's Response object records of it.</summary>
/// <remarks><see cref="ToolCalls"/>: the function calls the model made instead of (or besides) answering, as JSON.</remarks>
public sealed record ReplyRecord(
    string MessageId, string Text, int TokenCount, int ElapsedMs, string? Model, int? InputTokens, int? OutputTokens,
    string? FinishReason, int? TimeToFirstTokenMs, string? ToolCalls = null);

/// <summary>
/// How ending a turn went: the conversation's message count, and whether this attempt's end was stored; when not,
/// whether because the conversation was deleted meanwhile (else another attempt holds the turn).
/// </summary>
public sealed record CompletedTurn(int MessageCount, bool Stored, bool Gone = false);

/// <summary>A turn that was answered: its stored reply and the conversation's message count after it.</summary>
public sealed record AnsweredTurn(string ConversationId, string MessageId, ReplyRecord Reply, int MessageCount);

/// <summary>A client's Idempotency-Key, with the fingerprint of the request it came with.</summary>
public sealed record IdempotencyKey(string Key, byte[] Fingerprint);

/// <summary>An answered message of a conversation as the prompt needs it (a tool row's or call's JSON in ToolCalls).</summary>
public sealed record ContextMessage(string Role, string Message, int MessageNo, int? TokenCount, string? ToolCalls = null);

/// <summary>
/// Where a new turn joins its conversation's tree (V11) when it does not simply follow the newest row: after the turn of
/// <see cref="MessageId"/> (its answered reply), or beside it (following what that turn follows: an edit, a
/// regeneration); <see cref="BranchMode.ByRole"/> is after a reply and beside a message.
/// </summary>
public sealed record BranchPoint(string MessageId, BranchMode Mode);

public enum BranchMode
{
    After,
    Beside,
    ByRole,
}
