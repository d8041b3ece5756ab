using System.Text.Json.Serialization;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Apis;

// The wire shapes, snake_case as the original API. ChatMessageBody documents the request for OpenAPI; the request
// itself is read by ChatMessageInput, which accepts the same fields from JSON, a form or the query string.

public sealed record ChatMessageBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("user_id")] long UserId,
    [property: JsonPropertyName("message_id")] string? MessageId,
    [property: JsonPropertyName("message_count")] int? MessageCount,
    [property: JsonPropertyName("conversation_id")] string? ConversationId,
    [property: JsonPropertyName("model")] string? Model);

public sealed record ChatMessageResponse(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_id")] string MessageId,
    [property: JsonPropertyName("reply_message_id")] string ReplyMessageId,
    [property: JsonPropertyName("message_count")] int MessageCount,
    [property: JsonPropertyName("elapsed_ms")] int ElapsedMs,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("finish_reason")] string? FinishReason,
    [property: JsonPropertyName("usage")] TokenUsage? Usage,
    [property: JsonPropertyName("time_to_first_token_ms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    int? TimeToFirstTokenMs,
    [property: JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<ToolCall>? ToolCalls = null)
{
    public static ChatMessageResponse From(AnsweredTurn answered) => new(
        answered.Reply.Text, answered.ConversationId, answered.MessageId, answered.Reply.MessageId, answered.MessageCount,
        answered.Reply.ElapsedMs, answered.Reply.Model, answered.Reply.FinishReason,
        TokenUsage.From(answered.Reply.InputTokens, answered.Reply.OutputTokens), answered.Reply.TimeToFirstTokenMs,
        answered.Reply.ToolCalls is null ? null : ToolCall.Parse(answered.Reply.ToolCalls));
}

/// <summary>The tokens a reply cost, as the provider counted them.</summary>
public sealed record TokenUsage(
    [property: JsonPropertyName("input_tokens")] int? InputTokens,
    [property: JsonPropertyName("output_tokens")] int? OutputTokens,
    [property: JsonPropertyName("total_tokens")] int? TotalTokens)
{
    public static TokenUsage? From(int? inputTokens, int? outputTokens) =>
        inputTokens is null && outputTokens is null ? null : new(inputTokens, outputTokens, inputTokens + outputTokens);
}

/// <summary>The fields of POST /chat-message/cancel, documented for OpenAPI.</summary>
public sealed record CancelBody(
    [property: JsonPropertyName("user_id")] long UserId,
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_id")] string MessageId);

/// <summary>How a cancelled turn ended: Cancelled with what was generated, or Success/Error when it ended first.</summary>
public sealed record CancelResponse(
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_id")] string MessageId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("message")] string? Message);

public sealed record ConversationHistoryResponse(
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_count")] int MessageCount,
    [property: JsonPropertyName("messages")] IReadOnlyList<HistoryMessage> Messages,
    [property: JsonPropertyName("has_more")] bool HasMore)
{
    public static ConversationHistoryResponse From(Conversation conversation) => new(
        conversation.ConversationId,
        conversation.MessageCount,
        [.. conversation.Messages.Select(message => new HistoryMessage(
            message.Role, message.Message, message.MessageNo, message.MessageId, message.Status.ToString(),
            message.ElapsedMs, message.CreatedAt, message.Model, message.FinishReason,
            TokenUsage.From(message.InputTokens, message.OutputTokens), message.TimeToFirstTokenMs, message.ErrorCode,
            message.FeedbackRating is { } rating ? new Feedback(rating, message.FeedbackComment) : null, message.Siblings,
            message.ToolCalls is null ? null : ToolCall.Parse(message.ToolCalls)))],
        conversation.HasMore);
}

public sealed record HistoryMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("message_no")] int MessageNo,
    [property: JsonPropertyName("message_id")] string MessageId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("elapsed_ms")] int? ElapsedMs,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("model"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Model,
    [property: JsonPropertyName("finish_reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? FinishReason,
    [property: JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TokenUsage? Usage,
    [property: JsonPropertyName("time_to_first_token_ms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    int? TimeToFirstTokenMs,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    [property: JsonPropertyName("feedback"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Feedback? Feedback,
    [property: JsonPropertyName("siblings"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Siblings = null,
    [property: JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCall>? ToolCalls = null);

public sealed record StatusResponse([property: JsonPropertyName("status")] string Status);
