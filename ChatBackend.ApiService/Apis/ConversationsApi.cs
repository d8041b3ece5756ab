using System.Globalization;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A user's conversations: the list, most recently active first; one conversation; rename; delete; feedback on a reply.
/// </summary>
public static class ConversationsApi
{
    public const int ChatNameMaxLength = ConversationLimits.ChatNameMaxLength;
    public const int CommentMaxLength = 2_000;

    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder routes)
    {
        var app = routes.MapGroup("").WithTags("Conversations");
        app.MapGet("/conversations", ListAsync)
            .WithName("ListConversations")
            .WithSummary("The user's conversations, most recently active first")
            .WithDescription(
                "limit 1-100 (20 by default); after: the last_id of the previous page. Paging goes by recency and " +
                "never repeats or skips a conversation that did not move meanwhile; one that gets a new message moves " +
                "to the top. With q, only the conversations with a message holding every word of q (full-text), each " +
                "with a snippet of its best matching message.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapGet("/conversations/{conversation_id}", GetAsync)
            .WithName("GetConversation")
            .WithSummary("One of the user's conversations")
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        app.MapPatch("/conversations/{conversation_id}", RenameAsync)
            .WithName("RenameConversation")
            .WithSummary("Rename a conversation")
            .WithDescription("{\"chat_name\": \"...\"}: 1-60 characters after trimming, any script. user_id in the body or the query.")
            .Accepts<RenameBody>("application/json", "application/x-www-form-urlencoded")
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        app.MapDelete("/conversations/{conversation_id}", DeleteAsync)
            .WithName("DeleteConversation")
            .WithSummary("Delete a conversation and its messages")
            .WithDescription(
                "A reply being generated for it is stopped; the history and every other endpoint then answer 404, and " +
                "so does a second DELETE.")
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        app.MapPut("/conversations/{conversation_id}/messages/{message_id}/feedback", SetFeedbackAsync)
            .WithName("SetReplyFeedback")
            .WithSummary("Rate a reply")
            .WithDescription(
                "{\"rating\": \"up\" | \"down\", \"comment\": \"...\"} on an assistant message (its reply_message_id); " +
                "the comment is optional, at most 2,000 characters. The history shows it as feedback. A user message " +
                "or another user's is a 404.")
            .Accepts<FeedbackBody>("application/json", "application/x-www-form-urlencoded")
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        app.MapDelete("/conversations/{conversation_id}/messages/{message_id}/feedback", DeleteFeedbackAsync)
            .WithName("DeleteReplyFeedback")
            .WithSummary("Remove the rating of a reply")
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        return routes;
    }

    public static async Task<Results<Ok<Feedback>, ValidationProblem, ProblemHttpResult>> SetFeedbackAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromRoute(Name = "message_id")] string messageId,
        HttpContext context,
        Caller caller,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        var (fields, owner, errors, refused) = await RequestFields.ReadForUserAsync(context, caller, [FieldNames.UserId, FieldNames.Rating, FieldNames.Comment]);
        if (refused is not null)
        {
            return refused;
        }
        var rating = fields[FieldNames.Rating];
        if (!errors.ContainsKey(FieldNames.Rating) && rating is not ("up" or "down"))
        {
            errors[FieldNames.Rating] = ["The rating field must be \"up\" or \"down\"."];
        }
        var comment = string.IsNullOrWhiteSpace(fields[FieldNames.Comment]) ? null : fields[FieldNames.Comment]!.Trim();
        if (!errors.ContainsKey(FieldNames.Comment) && comment?.Length > CommentMaxLength)
        {
            errors[FieldNames.Comment] = [$"The comment field must be at most {CommentMaxLength} characters long."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        return await conversations.SetFeedbackAsync(conversationId, owner, messageId, rating, comment, cancellationToken)
            ? TypedResults.Ok(new Feedback(rating!, comment))
            : Problems.MessageNotFound();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteFeedbackAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromRoute(Name = "message_id")] string messageId,
        [FromQuery(Name = "user_id")] string? userId,
        Caller caller,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        return await conversations.SetFeedbackAsync(conversationId, owner, messageId, rating: null, comment: null, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.MessageNotFound();
    }

    public static async Task<Results<Ok<ConversationListResponse>, ValidationProblem, ProblemHttpResult>> ListAsync(
        [FromQuery(Name = "user_id")] string? userId,
        [FromQuery(Name = "limit")] string? limit,
        [FromQuery(Name = "after")] string? after,
        [FromQuery(Name = "q")] string? q,
        Caller caller,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        if (caller.IsOtherUser(userId))
        {
            return Problems.OtherUser();
        }
        var errors = new Dictionary<string, string[]>();
        var words = q is null ? null : SearchText.Words(q);
        if (words is [])
        {
            errors["q"] = ["The q parameter must hold at least one word (letters or digits)."];
        }
        var owner = caller.RequireUserId(userId, errors);
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

        var (page, hasMore) = words is null
            ? await conversations.ListAsync(owner!.Value, pageSize!.Value, cursor, cancellationToken)
            : await conversations.SearchAsync(owner!.Value, words, pageSize!.Value, cursor, cancellationToken);
        return TypedResults.Ok(new ConversationListResponse(
            [.. page.Select(summary => ConversationItem.From(summary, words))], hasMore,
            page.Count == 0 ? null : FormatCursor(page[^1])));
    }

    public static async Task<Results<Ok<ConversationItem>, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromQuery(Name = "user_id")] string? userId,
        Caller caller,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        return await conversations.GetSummaryAsync(conversationId, owner, cancellationToken) is { } found
            ? TypedResults.Ok(ConversationItem.From(found, words: null))
            : Problems.ConversationNotFound();
    }

    public static async Task<Results<Ok<ConversationItem>, ValidationProblem, ProblemHttpResult>> RenameAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        HttpContext context,
        Caller caller,
        ConversationQueries conversations,
        CancellationToken cancellationToken)
    {
        var (fields, owner, errors, refused) = await RequestFields.ReadForUserAsync(context, caller, [FieldNames.UserId, FieldNames.ChatName]);
        if (refused is not null)
        {
            return refused;
        }
        var chatName = fields[FieldNames.ChatName]?.Trim();
        if (!errors.ContainsKey(FieldNames.ChatName)
            && (string.IsNullOrEmpty(chatName) || chatName.EnumerateRunes().Count() > ChatNameMaxLength))
        {
            errors[FieldNames.ChatName] = [$"The chat_name field must be 1 to {ChatNameMaxLength} characters after trimming."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        return await conversations.RenameAsync(conversationId, owner, chatName!, cancellationToken) is { } renamed
            ? TypedResults.Ok(ConversationItem.From(renamed, words: null))
            : Problems.ConversationNotFound();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromQuery(Name = "user_id")] string? userId,
        Caller caller,
        ConversationQueries conversations,
        ChatTurnService chat,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
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
