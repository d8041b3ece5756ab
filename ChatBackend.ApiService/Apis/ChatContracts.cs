using System.Text.Json.Serialization;

namespace ChatBackend.ApiService.Apis;

// The wire shapes, snake_case as the original API. ChatMessageBody documents the request for OpenAPI; the request
// itself is read by ChatMessageInput, which accepts the same fields from JSON, a form or the query string.

public sealed record ChatMessageBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("user_id")] long UserId,
    [property: JsonPropertyName("message_id")] string? MessageId,
    [property: JsonPropertyName("message_count")] int? MessageCount,
    [property: JsonPropertyName("conversation_id")] string? ConversationId);

public sealed record ChatMessageResponse(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_id")] string MessageId,
    [property: JsonPropertyName("reply_message_id")] string ReplyMessageId,
    [property: JsonPropertyName("message_count")] int MessageCount,
    [property: JsonPropertyName("elapsed_ms")] int ElapsedMs,
    [property: JsonPropertyName("model")] string? Model);

public sealed record ConversationHistoryResponse(
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_count")] int MessageCount,
    [property: JsonPropertyName("messages")] IReadOnlyList<HistoryMessage> Messages);

public sealed record HistoryMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("message_no")] int MessageNo,
    [property: JsonPropertyName("message_id")] string MessageId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("elapsed_ms")] int? ElapsedMs,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt);

public sealed record StatusResponse([property: JsonPropertyName("status")] string Status);
