namespace ChatBackend.ApiService.Data;

public sealed record StoredMessage(
    string Role, string Message, int MessageNo, string MessageId, MessageStatus Status, int? ElapsedMs, DateTime CreatedAt,
    string? Model, int? InputTokens, int? OutputTokens, string? FinishReason, int? TimeToFirstTokenMs, string? ErrorCode);

public sealed record Conversation(string ConversationId, int MessageCount, IReadOnlyList<StoredMessage> Messages);
