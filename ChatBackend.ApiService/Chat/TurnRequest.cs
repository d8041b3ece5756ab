namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A validated send: what a turn works with. No <see cref="ConversationId"/> starts a conversation; no
/// <see cref="MessageId"/> lets the server make one. <see cref="TokenCount"/> is the message's cost in tokens.
/// </summary>
public sealed record TurnRequest(string Message, long UserId, string? MessageId, string? ConversationId, int TokenCount = 0);
