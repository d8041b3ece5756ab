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
            .WithMetadata(QueryStringFieldsMetadata.Send)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        app.MapPost("/chat-message/stream", StreamMessageAsync)
            .WithName("StreamChatMessage")
            .WithSummary("Send a message and receive the reply as server-sent events while it is generated")
            .WithDescription(ChatEventStream.FormatDescription)
            .Accepts<ChatMessageBody>("application/json", "application/x-www-form-urlencoded")
            .WithMetadata(QueryStringFieldsMetadata.Send)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapPost("/chat-message/cancel", CancelMessageAsync)
            .WithName("CancelChatMessage")
            .WithSummary("Stop the reply being generated for a message")
            .WithDescription(
                "Stops the generation of the reply to message_id and stores what was generated with status Cancelled; " +
                "answers how the turn ended (Success or Error when it ended before the cancel arrived). A cancelled " +
                "message may be sent again with the same message_id to generate a new reply. Fields come as for " +
                "/chat-message.")
            .Accepts<CancelBody>("application/json", "application/x-www-form-urlencoded")
            .WithMetadata(new QueryStringFieldsMetadata(
                ChatMessageInput.UserIdField, ChatMessageInput.ConversationIdField, ChatMessageInput.MessageIdField))
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

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
        ChatMessageInput input, ChatTurnService chat, ConversationContext context, IOptions<ChatOptions> options,
        CancellationToken cancellationToken)
    {
        if (Validate(input, context, options.Value, out var request) is { } invalid)
        {
            return invalid;
        }
        return await chat.SendAsync(request, cancellationToken) switch
        {
            TurnOutcome.Answered(var response) => TypedResults.Ok(response),
            var other => ProblemFor(other),
        };
    }

    public static async Task<Results<ChatEventStream, ValidationProblem, ProblemHttpResult>> StreamMessageAsync(
        ChatMessageInput input, ChatTurnService chat, ConversationContext context, IOptions<ChatOptions> options,
        CancellationToken cancellationToken)
    {
        if (Validate(input, context, options.Value, out var request) is { } invalid)
        {
            return invalid;
        }
        return await chat.BeginAsync(request, streaming: true, cancellationToken) switch
        {
            TurnOutcome.Started(var run) => new ChatEventStream(run, options.Value.HeartbeatInterval),
            TurnOutcome.Answered(var response) => new ChatEventStream(response),
            var other => ProblemFor(other),
        };
    }

    public static async Task<Results<Ok<CancelResponse>, ValidationProblem, ProblemHttpResult>> CancelMessageAsync(
        CancelInput input, ChatTurnService chat, CancellationToken cancellationToken)
    {
        if (!input.TryValidate(out var request, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }
        var (conversationId, messageId) = (request.ConversationId, request.MessageId);
        return await chat.CancelAsync(request.UserId, conversationId, messageId, cancellationToken) switch
        {
            CancelOutcome.Stopped(TurnOutcome.Cancelled(_, _, var partialReply)) =>
                TypedResults.Ok(new CancelResponse(conversationId, messageId, nameof(MessageStatus.Cancelled), partialReply)),
            CancelOutcome.Stopped(TurnOutcome.Answered(var response)) =>
                TypedResults.Ok(new CancelResponse(conversationId, messageId, nameof(MessageStatus.Success), response.Message)),
            CancelOutcome.Stopped => TypedResults.Ok(new CancelResponse(conversationId, messageId, nameof(MessageStatus.Error), null)),
            CancelOutcome.NotRunning(var status) => TurnProblem(
                StatusCodes.Status409Conflict, "Message is not being answered",
                $"No reply is being generated for this message here; its status is {status}.", conversationId, messageId,
                ("status", status.ToString())),
            _ => TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Message not found",
                detail: "No message with this message_id exists in this user's conversation.",
                extensions: new Dictionary<string, object?> { ["field"] = ChatMessageInput.MessageIdField }),
        };
    }

    // Field rules first, then the context budget: a message that alone cannot fit is refused before any database work.
    private static ValidationProblem? Validate(
        ChatMessageInput input, ConversationContext context, ChatOptions options, out ChatMessageRequest request)
    {
        if (!input.TryValidate(options.MaxMessageLength, out request, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }
        var tokens = context.Count(request.Message);
        if (!context.Fits(tokens))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [ChatMessageInput.MessageField] =
                [
                    $"The message is {tokens} tokens long; with the system prompt ({context.SystemPromptTokens} tokens) " +
                    $"a request may take at most {context.Budget} tokens (Chat:HistoryTokenBudget).",
                ],
            });
        }
        request = request with { TokenCount = tokens };
        return null;
    }

    /// <summary>The problem details of a turn that did not produce a reply.</summary>
    public static ProblemHttpResult ProblemFor(TurnOutcome outcome) => outcome switch
    {
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
        TurnOutcome.Cancelled(var conversationId, var messageId, _) => TurnProblem(
            StatusCodes.Status409Conflict, "The reply was cancelled",
            "The reply was stopped by a cancel; what was generated is stored with status Cancelled. Send the message " +
            "again with the same message_id for a new reply.",
            conversationId, messageId),
        _ => throw new InvalidOperationException($"A turn outcome with a reply has no problem: {outcome.GetType().Name}."),
    };

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
                message.ElapsedMs, message.CreatedAt, message.Model, message.FinishReason,
                TokenUsage.From(message.InputTokens, message.OutputTokens), message.TimeToFirstTokenMs, message.ErrorCode))]));
    }

    private static ProblemHttpResult ConversationNotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Conversation not found",
        detail: "No conversation with this conversation_id exists for this user_id.",
        extensions: new Dictionary<string, object?> { ["field"] = ChatMessageInput.ConversationIdField });

    private static ProblemHttpResult TurnProblem(
        int status, string title, string detail, string conversationId, string messageId, (string Name, object Value)? extra = null)
    {
        var extensions = new Dictionary<string, object?>
        {
            ["field"] = ChatMessageInput.MessageIdField,
            ["conversation_id"] = conversationId,
            ["message_id"] = messageId,
        };
        if (extra is var (name, value))
        {
            extensions[name] = value;
        }
        return TypedResults.Problem(statusCode: status, title: title, detail: detail, extensions: extensions);
    }
}
