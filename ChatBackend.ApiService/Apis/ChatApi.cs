using System.Globalization;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

public static class ChatApi
{
    private const string StoredForRetry =
        "The message is stored; send it again with the same conversation_id and message_id to retry.";

    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/chat-message", SendMessageAsync)
            .WithName("SendChatMessage")
            .WithSummary("Send a message and get the assistant's reply")
            .WithDescription(
                "Fields may come as a JSON body, a form body or the query string (the original's clients use the " +
                "query string); a body field wins over the same query field. message_id is the idempotency key within " +
                "a conversation: sending it again returns the stored reply without calling the model again.")
            .Accepts<ChatMessageBody>("application/json", "application/x-www-form-urlencoded")
            .WithMetadata(new QueryStringFieldsMetadata())
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        app.MapGet("/get-conversation-history/{conversation_id}", GetHistoryAsync)
            .WithName("GetConversationHistory")
            .WithSummary("Read a conversation, oldest message first")
            .WithDescription(
                "With user_id, a conversation of another user answers 404 like an unknown one. Without it, the " +
                "unguessable conversation id is the key, as in the original.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return app;
    }

    public static async Task<Results<Ok<ChatMessageResponse>, ValidationProblem, ProblemHttpResult>> SendMessageAsync(
        ChatMessageInput input, ChatTurnService chat, IOptions<ChatOptions> options, CancellationToken cancellationToken)
    {
        if (!input.TryValidate(options.Value.MaxMessageLength, out var request, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await chat.SendAsync(request, cancellationToken) switch
        {
            TurnOutcome.Answered(var response) => TypedResults.Ok(response),
            TurnOutcome.ConversationNotFound => ConversationNotFound(),
            TurnOutcome.StillInProgress(var conversationId, var messageId) => TurnProblem(
                StatusCodes.Status409Conflict, "Message is still being answered",
                "A message with this message_id is being answered now; send it again once that has finished.",
                conversationId, messageId),
            TurnOutcome.MessageIdReused(var conversationId, var messageId) => TurnProblem(
                StatusCodes.Status409Conflict, "message_id already used",
                "This message_id was already used in this conversation for a different message.",
                conversationId, messageId),
            TurnOutcome.ModelFailed(var conversationId, var messageId, var reason) => TurnProblem(
                StatusCodes.Status502BadGateway, "The model provider failed",
                $"{reason} {StoredForRetry}",
                conversationId, messageId),
            TurnOutcome.ModelTimedOut(var conversationId, var messageId) => TurnProblem(
                StatusCodes.Status504GatewayTimeout, "The model provider timed out",
                $"The model did not answer in time. {StoredForRetry}",
                conversationId, messageId),
            TurnOutcome.ServerStopping(var conversationId, var messageId) => TurnProblem(
                StatusCodes.Status503ServiceUnavailable, "The server is shutting down",
                $"The server stopped before the model answered. {StoredForRetry}",
                conversationId, messageId),
            var other => throw new InvalidOperationException($"Unhandled turn outcome {other.GetType().Name}."),
        };
    }

    public static async Task<Results<Ok<ConversationHistoryResponse>, ValidationProblem, ProblemHttpResult>> GetHistoryAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromQuery(Name = "user_id")] string? userId,
        ConversationStore store,
        CancellationToken cancellationToken)
    {
        long? owner = null;
        if (!string.IsNullOrEmpty(userId))
        {
            if (!long.TryParse(userId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    [ChatMessageInput.UserIdField] = ["The user_id field must be a whole number of at least 1."],
                });
            }
            owner = parsed;
        }

        var conversation = await store.GetConversationAsync(conversationId, owner, cancellationToken);
        if (conversation is null)
        {
            return ConversationNotFound();
        }

        return TypedResults.Ok(new ConversationHistoryResponse(
            conversation.ConversationId,
            conversation.MessageCount,
            [.. conversation.Messages.Select(message => new HistoryMessage(
                message.Role, message.Message, message.MessageNo, message.MessageId, message.Status.ToString(),
                message.ElapsedMs, message.CreatedAt))]));
    }

    private static ProblemHttpResult ConversationNotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Conversation not found",
        detail: "No conversation with this conversation_id exists for this user_id.",
        extensions: new Dictionary<string, object?> { ["field"] = ChatMessageInput.ConversationIdField });

    private static ProblemHttpResult TurnProblem(int status, string title, string detail, string conversationId, string messageId) =>
        TypedResults.Problem(
            statusCode: status,
            title: title,
            detail: detail,
            extensions: new Dictionary<string, object?>
            {
                ["field"] = ChatMessageInput.MessageIdField,
                ["conversation_id"] = conversationId,
                ["message_id"] = messageId,
            });
}
