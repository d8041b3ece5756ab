using System.Text.Json.Serialization;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Apis;

/// <summary>A user's rating of a reply ("up" or "down"), with an optional comment.</summary>
public sealed record Feedback(
    [property: JsonPropertyName("rating")] string Rating,
    [property: JsonPropertyName("comment"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Comment);

/// <summary>A conversation in the list and its endpoints.</summary>
public sealed record ConversationItem(
    [property: JsonPropertyName("conversation_id")] string ConversationId,
    [property: JsonPropertyName("chat_name")] string ChatName,
    [property: JsonPropertyName("message_count")] int MessageCount,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("updated_at")] DateTime UpdatedAt,
    [property: JsonPropertyName("snippet"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Snippet)
{
    public static ConversationItem From(ConversationSummary summary, IReadOnlyList<string>? words) => new(
        summary.ConversationId, summary.ChatName, summary.MessageCount, summary.CreatedAt, summary.UpdatedAt,
        summary.BestMatch is { } match && words is not null ? SearchText.Snippet(match, words) : null);
}

/// <summary>A page of the user's conversations; last_id continues it as after.</summary>
public sealed record ConversationListResponse(
    [property: JsonPropertyName("data")] IReadOnlyList<ConversationItem> Data,
    [property: JsonPropertyName("has_more")] bool HasMore,
    [property: JsonPropertyName("last_id")] string? LastId);

/// <summary>The fields of PATCH /conversations/{conversation_id}, documented for OpenAPI.</summary>
public sealed record RenameBody(
    [property: JsonPropertyName("chat_name")] string ChatName,
    [property: JsonPropertyName("user_id")] long UserId);

/// <summary>The fields of PUT .../feedback, documented for OpenAPI.</summary>
public sealed record FeedbackBody(
    [property: JsonPropertyName("rating")] string Rating,
    [property: JsonPropertyName("comment")] string? Comment,
    [property: JsonPropertyName("user_id")] long UserId);
