using System.Text.Json.Serialization;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Apis;

/// <summary>The last event of a reply stream.</summary>
public sealed record StreamDone(
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_id")] string MessageId,
    [property: JsonPropertyName("reply_message_id")] string ReplyMessageId,
    [property: JsonPropertyName("message_count")] int MessageCount,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("finish_reason")] string? FinishReason,
    [property: JsonPropertyName("usage")] TokenUsage? Usage,
    [property: JsonPropertyName("elapsed_ms")] int ElapsedMs,
    [property: JsonPropertyName("time_to_first_token_ms")] int? TimeToFirstTokenMs,
    [property: JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<ChatBackend.ApiService.Chat.ToolCall>? ToolCalls)
{
    public static StreamDone From(ChatMessageResponse response) => new(
        response.ConversationId, response.MessageId, response.ReplyMessageId, response.MessageCount, response.Model,
        response.FinishReason, response.Usage, response.ElapsedMs, response.TimeToFirstTokenMs, response.ToolCalls);
}

/// <summary>A call the server ran on an MCP server (tool_call), or one that waits for approval (approval_request).</summary>
public sealed record StreamToolCall(
    [property: JsonPropertyName("call_id")] string CallId,
    [property: JsonPropertyName("server_label")] string ServerLabel,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments);

/// <summary>How a call the server ran ended (tool_result): its output, or its error.</summary>
public sealed record StreamToolResult(
    [property: JsonPropertyName("call_id")] string CallId,
    [property: JsonPropertyName("output"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Output,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

/// <summary>The first event of a reply stream.</summary>
public sealed record StreamStart(
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_id")] string MessageId);

/// <summary>The last event of a stream whose reply could not be finished here: the client should send it again.</summary>
public sealed record StreamResume(
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("message_id")] string MessageId,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("detail")] string Detail)
{
    public static readonly string ServerStopping = TurnError.ServerStopping.Code();
    public const string TakenOver = "taken_over";
}

/// <summary>The text sent so far was replaced: a new attempt of the reply starts from its beginning.</summary>
public sealed record StreamRestart([property: JsonPropertyName("attempt")] int Attempt);

/// <summary>One piece of a streamed reply.</summary>
public sealed record StreamDelta([property: JsonPropertyName("text")] string Text);
