using System.Globalization;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ChatBackend.ApiService.Apis;

/// <summary>A user's conversations: the list, most recently active first; one conversation; rename; delete.</summary>
public static class ConversationsApi
{
    public const string ChatNameField = "chat_name";
    public const int ChatNameMaxLength = 60;

    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/conversations", ListAsync)
            .WithName("ListConversations")
            .WithSummary("The user's conversations, most recently active first")
            .WithDescription(
                "limit 1-100 (20 by default); after: the last_id of the previous page. Paging goes by recency and " +
                "never repeats or skips a conversation that did not move meanwhile; one that gets a new message moves " +
                "to the top.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapGet("/conversations/{conversation_id}", GetAsync)
            .WithName("GetConversation")
            .WithSummary("One of the user's conversations")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapPatch("/conversations/{conversation_id}", RenameAsync)
            .WithName("RenameConversation")
            .WithSummary("Rename a conversation")
            .WithDescription("{\"chat_name\": \"...\"}: 1-60 characters after trimming, any script. user_id in the body or the query.")
            .Accepts<RenameBody>("application/json", "application/x-www-form-urlencoded")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapDelete("/conversations/{conversation_id}", DeleteAsync)
            .WithName("DeleteConversation")
            .WithSummary("Delete a conversation and its messages")
            .WithDescription(
                "A reply being generated for it is stopped; the history and every other endpoint then answer 404, and " +
                "so does a second DELETE.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return app;
    }

    public static async Task<Results<Ok<ConversationListResponse>, ValidationProblem>> ListAsync(
        [FromQuery(Name = "user_id")] string? userId,
        [FromQuery(Name = "limit")] string? limit,
        [FromQuery(Name = "after")] string? after,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var owner = QueryParameters.RequireUserId(userId, errors);
        var pageSize = QueryParameters.Range(limit, "limit", 1, 100, absent: 20, errors);
        ConversationCursor? cursor = null;
        if (!string.IsNullOrEmpty(after))
        {
            cursor = ParseCursor(after);
            if (cursor is null)
            {
                errors["after"] = ["The after parameter must be the last_id of a page of this list."];
            }
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var (page, hasMore) = await conversations.ListAsync(owner!.Value, pageSize!.Value, cursor, cancellationToken);
        return TypedResults.Ok(new ConversationListResponse(
            [.. page.Select(ConversationItem.From)], hasMore, page.Count == 0 ? null : FormatCursor(page[^1])));
    }

    public static async Task<Results<Ok<ConversationItem>, ValidationProblem, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromQuery(Name = "user_id")] string? userId,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (QueryParameters.RequireUserId(userId, errors) is not { } owner)
        {
            return TypedResults.ValidationProblem(errors);
        }
        return await conversations.GetSummaryAsync(conversationId, owner, cancellationToken) is { } found
            ? TypedResults.Ok(ConversationItem.From(found))
            : Problems.ConversationNotFound();
    }

    public static async Task<Results<Ok<ConversationItem>, ValidationProblem, ProblemHttpResult>> RenameAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        HttpContext context,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        var fields = await RequestFields.ReadAsync(context, [ChatMessageInput.UserIdField, ChatNameField]);
        var errors = fields.InitialErrors();
        if (errors.ContainsKey(RequestFields.BodyField))
        {
            return TypedResults.ValidationProblem(errors);
        }
        var owner = fields.RequireUserId(errors);
        var chatName = fields[ChatNameField]?.Trim();
        if (!errors.ContainsKey(ChatNameField)
            && (string.IsNullOrEmpty(chatName) || chatName.EnumerateRunes().Count() > ChatNameMaxLength))
        {
            errors[ChatNameField] = [$"The chat_name field must be 1 to {ChatNameMaxLength} characters after trimming."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        return await conversations.RenameAsync(conversationId, owner, chatName!, cancellationToken) is { } renamed
            ? TypedResults.Ok(ConversationItem.From(renamed))
            : Problems.ConversationNotFound();
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromQuery(Name = "user_id")] string? userId,
        ConversationQueries conversations,
        ChatTurnService chat,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (QueryParameters.RequireUserId(userId, errors) is not { } owner)
        {
            return TypedResults.ValidationProblem(errors);
        }
        if (!await conversations.DeleteAsync(conversationId, owner, cancellationToken))
        {
            return Problems.ConversationNotFound();
        }
        chat.StopConversation(conversationId);
        return TypedResults.NoContent();
    }

    // The cursor is opaque to clients: the last conversation's recency (in ticks) and row id.
    private static string FormatCursor(ConversationSummary last) =>
        string.Create(CultureInfo.InvariantCulture, $"{last.UpdatedAt.Ticks}_{last.RowId}");

    private static ConversationCursor? ParseCursor(string text)
    {
        var parts = text.Split('_');
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && ticks <= DateTime.MaxValue.Ticks
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var rowId)
            ? new ConversationCursor(new DateTime(ticks, DateTimeKind.Utc), rowId)
            : null;
    }
}
