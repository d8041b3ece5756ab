namespace ChatBackend.ApiService.Data;

public sealed record StoredMessage(
    string Role, string Message, int MessageNo, string MessageId, MessageStatus Status, int? ElapsedMs, DateTime CreatedAt,
    string? Model, int? InputTokens, int? OutputTokens, string? FinishReason, int? TimeToFirstTokenMs, string? ErrorCode,
    string? FeedbackRating, string? FeedbackComment)
{
    /// <summary>In a branched conversation, the ids of the messages beside this one, itself included, oldest first.</summary>
    public IReadOnlyList<string>? Siblings { get; init; }

    /// <summary>A reply's tool calls (those the server ran, and those left to the client), or a tool message's outputs, as JSON.</summary>
    public string? ToolCalls { get; init; }
}

/// <summary>
/// A conversation's messages, oldest first: all of them (of one branch, when it has branches), or a page that ends
/// before a message number, with whether older ones remain. <see cref="BranchNotFound"/>: the branch asked for is not
/// the conversation's (no messages then).
/// </summary>
public sealed record Conversation(
    string ConversationId, int MessageCount, IReadOnlyList<StoredMessage> Messages, bool HasMore, bool BranchNotFound = false);

/// <summary>A conversation as a list shows it; found by a search, with its best matching message.</summary>
public sealed record ConversationSummary(
    long RowId, string ConversationId, string ChatName, int MessageCount, DateTime CreatedAt, DateTime UpdatedAt,
    string? BestMatch = null);

/// <summary>Where a page of a user's conversations ends: the recency and row id of its last one.</summary>
public readonly record struct ConversationCursor(DateTime UpdatedAt, long RowId);

/// <summary>The sizes of a conversation's columns that callers check against.</summary>
public static class ConversationLimits
{
    /// <summary>chat_name is VARCHAR(60): 60 characters (code points).</summary>
    public const int ChatNameMaxLength = 60;

    /// <summary>The name of a conversation nobody named yet (the original's default).</summary>
    public const string DefaultChatName = "NEW CHAT";
}
