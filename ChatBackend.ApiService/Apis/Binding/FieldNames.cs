namespace ChatBackend.ApiService.Apis;

/// <summary>The API's field names, as the original's clients send them (snake_case), in one place.</summary>
public static class FieldNames
{
    public const string Message = "message";
    public const string UserId = "user_id";
    public const string MessageId = "message_id";
    public const string MessageCount = "message_count";
    public const string ConversationId = "conversation_id";
    public const string ChatName = "chat_name";
    public const string Rating = "rating";
    public const string Comment = "comment";
    public const string Model = "model";
    public const string Id = "id";
    public const string Name = "name";
    public const string Follows = "follows";
    public const string Tools = "tools";

    /// <summary>The IETF httpapi draft's header: the same key from the same user within 24 hours is the same turn.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";
}
