using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Tools;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

public static class ChatApi
{
    /// <summary>The header a client resumes a stream with (the id of the last event it received).</summary>
    public const string LastEventIdHeader = "Last-Event-ID";

    // What a turn can end in besides its reply (Problems.For); a send that waits for the reply adds the model's own.
    private static readonly int[] TurnProblems =
    [
        StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity,
        StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable,
    ];

    private static readonly int[] WaitedTurnProblems = [.. TurnProblems, StatusCodes.Status502BadGateway, StatusCodes.Status504GatewayTimeout];

    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder routes)
    {
        var app = routes.MapGroup("").WithTags("Chat");
        app.MapPost("/chat-message", SendMessageAsync)
            .WithName("SendChatMessage")
            .WithSummary("Send a message and get the assistant's reply")
            .WithDescription(
                "Fields may come as a JSON body, a form body or the query string (the original's clients use the " +
                "query string); a body field wins over the same query field. message_id is the idempotency key within " +
                "a conversation: sending it again returns the stored reply without calling the model again.")
            .Accepts<ChatMessageBody>("application/json", "application/x-www-form-urlencoded")
            .WithMetadata(QueryStringFieldsMetadata.Send, IdempotencyKeyMetadata.Instance, KeyCheckedByTheTurn.Instance)
            .ProducesProblems(WaitedTurnProblems);

        app.MapPost("/chat-message/stream", StreamMessageAsync)
            .WithName("StreamChatMessage")
            .WithSummary("Send a message and receive the reply as server-sent events while it is generated")
            .WithDescription(ChatEventStream.FormatDescription)
            .Accepts<ChatMessageBody>("application/json", "application/x-www-form-urlencoded")
            .WithMetadata(QueryStringFieldsMetadata.Send, IdempotencyKeyMetadata.Instance, KeyCheckedByTheTurn.Instance)
            .ProducesProblems(TurnProblems);

        app.MapGet("/conversations/{conversation_id}/messages/{message_id}/stream", ResumeStreamAsync)
            .WithName("ResumeReplyStream")
            .WithSummary("Resume the reply stream of a message, on any instance")
            .WithDescription(
                "The events after Last-Event-ID (the header, or last_event_id in the query), then the live ones while " +
                "the reply is generated (here or on another instance, followed through the database), then done; or the " +
                "stored reply at once when it is finished. A `restart` event says the text so far was replaced by a new " +
                "attempt (its instance died and this one took it over). Same events as /chat-message/stream.")
            .Produces(StatusCodes.Status200OK, typeof(string), ChatEventStream.ContentType)
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        app.MapPost("/conversations/{conversation_id}/messages/{message_id}/regenerate", RegenerateAsync)
            .WithName("RegenerateReply")
            .WithSummary("Generate another reply to a message, beside the one it has (a branch)")
            .WithDescription(
                "message_id names a message or its reply. A new turn with the same message follows what that turn " +
                "follows, so the conversation gets a sibling turn; the history then shows the new branch, each message " +
                "with its siblings' ids. The streaming form is /chat-message/stream with follows naming the message " +
                "and the same text. user_id and model come in the query string.")
            .ProducesValidationProblem()
            .ProducesProblems(WaitedTurnProblems);

        app.MapPost("/conversations/{conversation_id}/messages/{message_id}/approval", ApproveAsync)
            .WithName("ApproveToolCalls")
            .WithSummary("Answer the tool calls a reply waits to have approved, and get the reply that follows")
            .WithDescription(
                "message_id is the message whose reply asked (its tool_calls hold mcp_approval_request entries). approve " +
                "(true or false, in the query string) answers all of them: approved calls run, refused ones reach the " +
                "model as refused, and the model answers; the answer is a new turn after that reply.")
            .ProducesValidationProblem()
            .ProducesProblems(WaitedTurnProblems);

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
                FieldNames.UserId, FieldNames.ConversationId, FieldNames.MessageId))
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status503ServiceUnavailable);

        app.MapGet("/get-conversation-history/{conversation_id}", GetHistoryAsync)
            .WithName("GetConversationHistory")
            .WithSummary("Read a conversation, oldest message first")
            .WithDescription(
                "With user_id, a conversation of another user answers 404 like an unknown one. Without it, the " +
                "unguessable conversation id is the key, as in the original. Without limit, the whole conversation " +
                "(up to Chat:HistoryMaxPage, 10,000 messages); with limit (1-500), the newest that many before " +
                "message number before (when given), still oldest first, and has_more when older ones remain. A " +
                "conversation with branches (edits, regenerations) shows its newest branch, or with branch (a message " +
                "id) the newest branch through that message; each message then carries its siblings' ids.")
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        return routes;
    }

    public static async Task<Results<Ok<ChatMessageResponse>, ValidationProblem, ProblemHttpResult>> SendMessageAsync(
        ChatMessageInput input, Caller caller, ChatTurnService chat, ApiKeys keys, ModelCatalog models, IOptions<ChatTurnOptions> options,
        IOptions<ToolOptions> tools, CancellationToken cancellationToken)
    {
        if (await caller.OtherUserAsync(input.RequestedUserId, keys, cancellationToken) is { } otherUser)
        {
            return otherUser;
        }
        if (!input.TryValidate(caller, options.Value.MaxMessageLength, models, out var request, out var errors, tools.Value))
        {
            return TypedResults.ValidationProblem(errors);
        }
        return await chat.SendAsync(request, cancellationToken) switch
        {
            TurnOutcome.Answered(var answered) => TypedResults.Ok(ChatMessageResponse.From(answered)),
            var other => Problems.For(other),
        };
    }

    public static async Task<Results<ChatEventStream, ValidationProblem, ProblemHttpResult>> StreamMessageAsync(
        ChatMessageInput input, Caller caller, [FromHeader(Name = LastEventIdHeader)] string? lastEventId, ChatTurnService chat,
        ReplyFollower follower, ApiKeys keys, ModelCatalog models, IOptions<ChatTurnOptions> options, IOptions<ToolOptions> tools,
        CancellationToken cancellationToken)
    {
        if (await caller.OtherUserAsync(input.RequestedUserId, keys, cancellationToken) is { } otherUser)
        {
            return otherUser;
        }
        if (!input.TryValidate(caller, options.Value.MaxMessageLength, models, out var request, out var errors, tools.Value))
        {
            return TypedResults.ValidationProblem(errors);
        }
        if (!StreamPosition.TryParse(lastEventId, out var from))
        {
            return InvalidLastEventId();
        }
        var heartbeat = options.Value.HeartbeatInterval;
        return await chat.BeginAsync(request, streaming: true, cancellationToken) switch
        {
            TurnStarted(var run) => new ChatEventStream(
                run.Turn.ConversationId, run.Turn.MessageId, follower.FollowAsync(run, from, CancellationToken.None), heartbeat),
            TurnOutcome.Answered(var answered) => new ChatEventStream(
                answered.ConversationId, answered.MessageId, ReplyFollower.Replay(answered, from), heartbeat),
            // Being answered (here or elsewhere): the stream resumes it rather than refusing.
            TurnOutcome.StillInProgress(var conversationId, var messageId) => new ChatEventStream(
                conversationId, messageId, follower.FollowAsync(request.UserId, conversationId, messageId, from, CancellationToken.None),
                heartbeat),
            var other => Problems.For(other),
        };
    }

    public static async Task<Results<ChatEventStream, ValidationProblem, ProblemHttpResult>> ResumeStreamAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromRoute(Name = "message_id")] string messageId,
        [FromQuery(Name = "user_id")] string? userId,
        [FromHeader(Name = LastEventIdHeader)] string? lastEventId,
        [FromQuery(Name = "last_event_id")] string? lastEventIdQuery,
        Caller caller, ReplyProgressStore progress, ReplyFollower follower, IOptions<ChatTurnOptions> options,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        if (!StreamPosition.TryParse(lastEventId ?? lastEventIdQuery, out var from))
        {
            return InvalidLastEventId();
        }
        if (await progress.GetReplyStateAsync(conversationId, owner, messageId, cancellationToken) is null)
        {
            return Problems.MessageNotFound();
        }
        return new ChatEventStream(
            conversationId, messageId, follower.FollowAsync(owner, conversationId, messageId, from, CancellationToken.None),
            options.Value.HeartbeatInterval);
    }

    public static async Task<Results<Ok<ChatMessageResponse>, ValidationProblem, ProblemHttpResult>> RegenerateAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromRoute(Name = "message_id")] string messageId,
        [FromQuery(Name = "user_id")] string? userId,
        [FromQuery(Name = "model")] string? model,
        Caller caller, ConversationQueries conversations, ChatTurnService chat, ModelCatalog models,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        if (!string.IsNullOrEmpty(model) && !models.Allows(model))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [FieldNames.Model] = [models.NotOffered(model)],
            });
        }
        switch (await conversations.GetTurnMessageAsync(conversationId, owner, messageId, cancellationToken))
        {
            case null:
                return Problems.MessageNotFound();
            case ("user", var text):
                var request = new TurnRequest(
                    text, owner, MessageId: null, conversationId,
                    Settings: string.IsNullOrEmpty(model) ? null : new TurnSettings(Model: model),
                    Follows: new BranchPoint(messageId, BranchMode.Beside));
                return await chat.SendAsync(request, cancellationToken) switch
                {
                    TurnOutcome.Answered(var answered) => TypedResults.Ok(ChatMessageResponse.From(answered)),
                    var other => Problems.For(other),
                };
            default:
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    [FieldNames.MessageId] = ["Only a turn that a user's message began can be regenerated (not one of tool outputs)."],
                });
        }
    }

    public static async Task<Results<Ok<ChatMessageResponse>, ValidationProblem, ProblemHttpResult>> ApproveAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromRoute(Name = "message_id")] string messageId,
        [FromQuery(Name = "user_id")] string? userId,
        [FromQuery(Name = "approve")] string? approve,
        Caller caller, ReplyProgressStore progress, ChatTurnService chat, IOptions<ToolOptions> tools,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        if (!bool.TryParse(approve, out var approved))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["approve"] = ["approve must be true or false."] });
        }
        if (await progress.GetReplyStateAsync(conversationId, owner, messageId, cancellationToken) is not { } state)
        {
            return Problems.MessageNotFound();
        }
        var answers = ToolCall.Parse(state.Reply?.ToolCalls)
            .Where(entry => entry.Type == ToolCall.McpApprovalRequest).Select(entry => entry.Answered(approved)).ToList();
        var labels = answers.Select(answer => answer.ServerLabel!).Distinct(StringComparer.Ordinal).ToList();
        if (answers.Count == 0 || labels.Any(label => !tools.Value.Mcp.Servers.ContainsKey(label)))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict, title: "Nothing waits for approval",
                detail: "The reply to this message asked no approval of calls of a server configured here.",
                extensions: new Dictionary<string, object?> { ["field"] = FieldNames.MessageId });
        }
        var request = new TurnRequest(
            string.Join("\n", answers.Select(ToolCall.TextOf)), owner, MessageId: null, conversationId,
            Settings: new TurnSettings(Mcp: [.. labels.Select(label => new McpToolChoice(label))]),
            Kind: new MessageKind("tool", ToolCall.Serialize(answers)),
            Follows: new BranchPoint(messageId, BranchMode.After));
        return await chat.SendAsync(request, cancellationToken) switch
        {
            TurnOutcome.Answered(var answered) => TypedResults.Ok(ChatMessageResponse.From(answered)),
            var other => Problems.For(other),
        };
    }

    private static ValidationProblem InvalidLastEventId() => TypedResults.ValidationProblem(new Dictionary<string, string[]>
    {
        [LastEventIdHeader] = ["Last-Event-ID must be the id of an event of this stream (attempt.offset, e.g. 0.42)."],
    });

    public static async Task<Results<Ok<CancelResponse>, ValidationProblem, ProblemHttpResult>> CancelMessageAsync(
        CancelInput input, Caller caller, ChatTurnService chat, CancellationToken cancellationToken)
    {
        if (caller.IsOtherUser(input.RequestedUserId))
        {
            return Problems.OtherUser();
        }
        if (!input.TryValidate(caller, out var request, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }
        var (conversationId, messageId) = (request.ConversationId, request.MessageId);
        return await chat.CancelAsync(request.UserId, conversationId, messageId, cancellationToken) switch
        {
            CancelOutcome.Stopped(TurnOutcome.Cancelled(_, _, var partialReply, _)) =>
                TypedResults.Ok(new CancelResponse(conversationId, messageId, nameof(MessageStatus.Cancelled), partialReply)),
            CancelOutcome.Stopped(TurnOutcome.Answered(var answered)) =>
                TypedResults.Ok(new CancelResponse(conversationId, messageId, nameof(MessageStatus.Success), answered.Reply.Text)),
            CancelOutcome.Stopped => TypedResults.Ok(new CancelResponse(conversationId, messageId, nameof(MessageStatus.Error), null)),
            CancelOutcome.NotRunning(var status) => Problems.NotRunning(conversationId, messageId, status),
            _ => Problems.MessageNotFound(),
        };
    }

    public static async Task<Results<Ok<ConversationHistoryResponse>, ValidationProblem, ProblemHttpResult>> GetHistoryAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromQuery(Name = "user_id")] string? userId,
        [FromQuery(Name = "limit")] string? limit,
        [FromQuery(Name = "before")] string? before,
        [FromQuery(Name = "branch")] string? branch,
        Caller caller,
        ConversationQueries conversations,
        IOptions<ChatTurnOptions> options,
        CancellationToken cancellationToken)
    {
        if (caller.IsOtherUser(userId))
        {
            return Problems.OtherUser();
        }
        var errors = new Dictionary<string, string[]>();
        var owner = caller.OptionalUserId(userId, errors);
        var pageSize = QueryParameters.Range(limit, "limit", 1, 500, absent: options.Value.HistoryMaxPage, errors);
        var beforeNo = QueryParameters.Range(before, "before", 1, int.MaxValue, absent: null, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var conversation = await conversations.GetConversationAsync(
            conversationId, owner, pageSize!.Value, beforeNo, cancellationToken, string.IsNullOrEmpty(branch) ? null : branch);
        if (conversation is null)
        {
            return Problems.ConversationNotFound();
        }
        if (conversation.BranchNotFound)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound, title: "Message not found",
                detail: "The branch names no message of this conversation.",
                extensions: new Dictionary<string, object?> { ["field"] = "branch" });
        }
        return TypedResults.Ok(ConversationHistoryResponse.From(conversation));
    }
}
