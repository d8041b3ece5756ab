using System.Text.Json;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Tools;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// The OpenAI Responses API over this server's turns: a response is a turn of a conversation (the native API's, same
/// id), stored, streamed, resumed and cancelled on any instance as a native turn is. Errors come in OpenAI's shape
/// (<see cref="OpenAIErrorWriter"/>); the user is always the bearer credential's.
/// </summary>
public static partial class ResponsesApi
{
    private static readonly int[] CreateProblems =
    [
        StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict,
        StatusCodes.Status429TooManyRequests, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable,
        StatusCodes.Status504GatewayTimeout,
    ];

    private static readonly int[] ReadProblems = [StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable];

    public static IEndpointRouteBuilder MapResponsesApi(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup(OpenAIErrorWriter.PathPrefix).WithTags("OpenAI Responses");
        v1.MapPost("/responses", CreateAsync)
            .WithName("CreateResponse")
            .WithMetadata(KeyCheckedByTheTurn.Instance)
            .WithSummary("Create a model response (OpenAI Responses API)")
            .WithDescription(
                "A turn of a conversation: a new one, the one `conversation` names, or the one `previous_response_id` " +
                "ends (it must be that conversation's latest response). `stream: true` answers server-sent events; " +
                "`background: true` answers at once and the reply goes on (read, resume or cancel it on any instance).")
            .Accepts<JsonElement>("application/json")
            // One 200 of both kinds (the stream's own metadata would otherwise replace the object's).
            .Produces<ResponseObject>(StatusCodes.Status200OK, "application/json", ChatEventStream.ContentType)
            .ProducesProblems([StatusCodes.Status400BadRequest, .. CreateProblems]);
        v1.MapGet("/responses/{response_id}", GetAsync)
            .WithName("GetResponse")
            .WithSummary("Retrieve a response; with stream=true, its events from starting_after on, following it while it runs")
            .Produces<ResponseObject>(StatusCodes.Status200OK, "application/json", ChatEventStream.ContentType)
            .ProducesProblems([StatusCodes.Status400BadRequest, .. ReadProblems]);
        v1.MapPost("/responses/{response_id}/cancel", CancelAsync)
            .WithName("CancelResponse")
            .WithSummary("Cancel a running response, on whichever instance generates it")
            .ProducesProblems(ReadProblems);
        v1.MapDelete("/responses/{response_id}", DeleteAsync)
            .WithName("DeleteResponse")
            .WithSummary("Delete a response that ended: its message and reply leave its conversation")
            .ProducesProblems([StatusCodes.Status409Conflict, .. ReadProblems]);
        v1.MapGet("/responses/{response_id}/input_items", ListInputItemsAsync)
            .WithName("ListResponseInputItems")
            .WithSummary("The input items of a response")
            .ProducesProblems([StatusCodes.Status400BadRequest, .. ReadProblems]);
        v1.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithSummary("The models a request may name (Chat:Models)");
        return routes;
    }

    public static async Task<Results<Ok<ResponseObject>, ChatEventStream, ProblemHttpResult>> CreateAsync(
        [FromBody] JsonElement body, Caller caller, ChatTurnService chat, ReplyFollower follower, ResponseQueries responses,
        ReplyProgressStore progress, ApiKeys keys, ModelCatalog models, IOptions<ChatTurnOptions> options, IOptions<ToolOptions> toolOptions,
        TemporaryResponses temporary, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return CredentialRequired();
        }
        var settings = options.Value;
        if (!ResponseCreateInput.TryRead(body, models, settings.MaxMessageLength, toolOptions.Value, out var input, out var errors))
        {
            return Problems.Invalid(errors);
        }
        var conversationId = input!.Conversation;
        if (input.ToolOutputs is not null && input.PreviousResponseId is null && conversationId is null)
        {
            return Problems.Invalid(new() { ["input"] = ["function_call_output items continue a response: give previous_response_id or conversation."] });
        }
        var answers = ToolCall.Parse(input.ToolOutputs);
        if (answers.Any(answer => answer.Type == ToolCall.McpApprovalResponse) && input.PreviousResponseId is null)
        {
            return Problems.Invalid(new() { ["input"] = ["mcp_approval_response items answer a response: give its previous_response_id."] });
        }
        List<ToolCall> approvals = [];
        if (input.PreviousResponseId is { } previousId)
        {
            // The previous response is read before the turn begins: a key taken from memory is looked up first.
            if (!await keys.StillValidAsync(caller.UncheckedKey, cancellationToken))
            {
                return Problems.For(new TurnOutcome.ApiKeyNotValid());
            }
            switch (await responses.FindAsync(previousId, userId, cancellationToken))
            {
                case null:
                    return NotFound("previous_response_id", $"No response '{previousId}' exists for this user.");
                case var previous:
                    conversationId = previous.ConversationId;
                    // Outputs answer exactly the calls that response made, and approvals the calls it asked approval for.
                    var stored = await progress.GetReplyStateAsync(previous.ConversationId, userId, previousId, cancellationToken) is { } ended
                        ? ToolCall.Parse(ended.Reply?.ToolCalls)
                        : [];
                    var made = stored.Where(call => call.IsFunctionCall).Select(call => call.CallId).ToHashSet(StringComparer.Ordinal);
                    var asked = stored.Where(call => call.Type == ToolCall.McpApprovalRequest).ToDictionary(call => call.CallId, StringComparer.Ordinal);
                    var givenOutputs = answers.Where(answer => answer.IsFunctionCall).Select(answer => answer.CallId);
                    var givenApprovals = answers.Where(answer => answer.Type == ToolCall.McpApprovalResponse).ToList();
                    if (input.ToolOutputs is not null
                            ? !made.SetEquals(givenOutputs) || !asked.Keys.ToHashSet(StringComparer.Ordinal).SetEquals(givenApprovals.Select(answer => answer.CallId))
                            : made.Count + asked.Count > 0)
                    {
                        return Problems.Invalid(new()
                        {
                            ["input"] = [made.Count + asked.Count == 0
                                ? "The previous response made no function calls and asked no approval: there is nothing to answer."
                                : $"The previous response's function calls ({string.Join(", ", made)}) each need their function_call_output, and its " +
                                  $"approval requests ({string.Join(", ", asked.Keys.Select(ResponseHead.ApprovalRequestId))}) their mcp_approval_response, and no other."],
                        });
                    }
                    approvals = [.. givenApprovals.Select(answer => asked[answer.CallId].Answered(answer.Approve == true))];
                    if (approvals.FirstOrDefault(approval => input.Servers?.Any(server => server.Label == approval.ServerLabel) != true) is { } unserved)
                    {
                        return Problems.Invalid(new()
                        {
                            ["tools"] = [$"The approved calls run on MCP server '{unserved.ServerLabel}': give its mcp tool again in tools."],
                        });
                    }
                    break;
            }
        }

        // The response's id is made with its turn, from the conversation it lands in (ResponseStart).
        var inputItems = Ids.NewItemId();
        var record = new ResponseRequestRecord(
            clock.GetUtcNow().ToUnixTimeSeconds(), input.Model, input.Instructions, input.PreviousResponseId, input.Conversation,
            input.Store, input.Background, input.MaxOutputTokens, input.Temperature ?? settings.Temperature, input.TopP ?? 1,
            input.Metadata, input.ToolChoice, input.ParallelToolCalls, input.Text, input.ToolsJson,
            [.. input.InputMessages.Select((message, index) => new InputMessageItem(
                $"{inputItems}_in{index}", message.Role, [new InputTextContent(message.Text)]))]);
        var request = new TurnRequest(
            input.Message, userId, MessageId: null, conversationId,
            Response: new ResponseStart(JsonSerializer.Serialize(record)),
            Settings: input.Settings(),
            // Approvals are kept with the calls they answer: the turn, or an instance that takes it over, runs them.
            Kind: input.ToolOutputs is { } outputs
                ? new MessageKind("tool", approvals.Count == 0 ? outputs : ToolCall.Serialize([.. answers.Where(answer => answer.IsFunctionCall), .. approvals]))
                : null,
            // Any earlier response may be continued: one that is not its conversation's newest starts a branch there.
            Follows: input.PreviousResponseId is { } followed ? new BranchPoint(followed, BranchMode.After) : null,
            KeyToCheck: caller.UncheckedKey);
        var outcome = await chat.BeginAsync(request, streaming: input.Stream || input.Background, cancellationToken);
        if (outcome is not TurnStarted(var run))
        {
            return outcome switch
            {
                TurnOutcome.ConversationNotFound when input.Conversation is not null =>
                    NotFound("conversation", $"No conversation '{input.Conversation}' exists for this user."),
                TurnOutcome.BranchPointNotFound => Problems.Invalid(new()
                {
                    ["previous_response_id"] = ["The previous response has not completed (or was deleted): there is no output to continue from."],
                }),
                _ => Problems.For(outcome),
            };
        }
        var head = new ResponseHead(run.Turn.MessageId, run.Turn.ConversationId, record);
        if (!input.Store)
        {
            temporary.ForgetWhenEnded(run, head.Id, userId);
        }
        if (input.Stream)
        {
            return new ChatEventStream(
                head.ConversationId, new ResponseStreamFormat(head, startingAfter: -1, queued: false, run.Turn.Attempt),
                follower.FollowAsync(run, StreamPosition.Start, CancellationToken.None), settings.HeartbeatInterval);
        }
        if (input.Background)
        {
            return TypedResults.Ok(ResponseObjects.For(head, null, running: ResponseObjects.Queued));
        }
        // Not the request's token: the turn ends on its own terms, and this request waits for it.
        return await run.Completion switch
        {
            var ended and (TurnOutcome.Answered or TurnOutcome.Cancelled) => TypedResults.Ok(ResponseObjects.For(head, ended)),
            var failed => Problems.For(failed),
        };
    }

    public static async Task<Results<Ok<ResponseObject>, ChatEventStream, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "response_id")] string responseId,
        [FromQuery(Name = "stream")] bool? stream,
        [FromQuery(Name = "starting_after")] long? startingAfter,
        Caller caller, ResponseQueries responses, ReplyProgressStore progress, ReplyFollower follower,
        IOptions<ChatTurnOptions> options, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return CredentialRequired();
        }
        if (await responses.FindAsync(responseId, userId, cancellationToken) is not { } row
            || await progress.GetReplyStateAsync(row.ConversationId, userId, responseId, cancellationToken) is not { } state)
        {
            return ResponseNotFound(responseId);
        }
        var head = ResponseHead.From(row);
        if (stream != true)
        {
            // A client that polls a background response whose instance died gets it finished here.
            if (follower.TakesOver(state))
            {
                await follower.TakeOverAsync(state, cancellationToken);
            }
            return TypedResults.Ok(ResponseObjects.For(head, state));
        }
        // From the attempt's start: the format numbers every event and leaves out those the client had.
        return new ChatEventStream(
            row.ConversationId, new ResponseStreamFormat(head, Math.Max(startingAfter ?? -1, -1), queued: false, state.Attempt),
            follower.FollowAsync(userId, row.ConversationId, responseId, new StreamPosition(state.Attempt, 0), CancellationToken.None),
            options.Value.HeartbeatInterval);
    }

    public static async Task<Results<Ok<ResponseObject>, ProblemHttpResult>> CancelAsync(
        [FromRoute(Name = "response_id")] string responseId, Caller caller, ResponseQueries responses,
        ReplyProgressStore progress, ChatTurnService chat, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return CredentialRequired();
        }
        if (await responses.FindAsync(responseId, userId, cancellationToken) is not { } row)
        {
            return ResponseNotFound(responseId);
        }
        var head = ResponseHead.From(row);
        switch (await chat.CancelAsync(userId, row.ConversationId, responseId, cancellationToken))
        {
            case CancelOutcome.Stopped(var outcome):
                return TypedResults.Ok(ResponseObjects.For(head, outcome));
            case CancelOutcome.NotRunning:
                // It ended before the cancel came: as it ended.
                return await progress.GetReplyStateAsync(row.ConversationId, userId, responseId, cancellationToken) is { } state
                    ? TypedResults.Ok(ResponseObjects.For(head, state))
                    : ResponseNotFound(responseId);
            default:
                return ResponseNotFound(responseId);
        }
    }

    public static async Task<Results<Ok<DeletedObject>, ProblemHttpResult>> DeleteAsync(
        [FromRoute(Name = "response_id")] string responseId, Caller caller, ResponseQueries responses,
        CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return CredentialRequired();
        }
        return await responses.DeleteAsync(responseId, userId, forgetting: false, cancellationToken) switch
        {
            ResponseDeletion.Deleted => TypedResults.Ok(new DeletedObject(responseId, "response.deleted")),
            ResponseDeletion.Running => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict, title: "The response is running",
                detail: "Its reply is still being generated: cancel it first (POST /v1/responses/{id}/cancel)."),
            _ => ResponseNotFound(responseId),
        };
    }

    public static async Task<Results<Ok<ListObject<InputMessageItem>>, ProblemHttpResult>> ListInputItemsAsync(
        [FromRoute(Name = "response_id")] string responseId,
        [FromQuery(Name = "after")] string? after,
        [FromQuery(Name = "limit")] int? limit,
        [FromQuery(Name = "order")] string? order,
        Caller caller, ResponseQueries responses, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return CredentialRequired();
        }
        if (InvalidPage(limit, order) is { } invalid)
        {
            return invalid;
        }
        if (await responses.FindAsync(responseId, userId, cancellationToken) is not { } row)
        {
            return ResponseNotFound(responseId);
        }
        return Page(ResponseHead.From(row).Request.Input, item => item.Id, after, limit, order) is { } page
            ? TypedResults.Ok(page)
            : AfterNotFound(after!);
    }

    /// <summary>A list's paging that is not valid (limit 1-100, order asc or desc), or null.</summary>
    internal static ProblemHttpResult? InvalidPage(int? limit, string? order) =>
        limit is < 1 or > 100 ? Problems.Invalid(new() { ["limit"] = ["limit must be from 1 to 100."] })
        : order is not (null or "asc" or "desc") ? Problems.Invalid(new() { ["order"] = ["order must be asc or desc."] })
        : null;

    /// <summary>The items a list gives when its request names no limit, as OpenAI's lists do.</summary>
    internal const int DefaultPageSize = 20;

    /// <summary>A list's <c>after</c> that names no item of it: a 400 naming the parameter.</summary>
    internal static ProblemHttpResult AfterNotFound(string after) =>
        Problems.Invalid(new() { ["after"] = [$"No item '{after}' in this list to start after."] });

    /// <summary>
    /// A page of <paramref name="oldestFirst"/> (a short list, held whole) as OpenAI lists items: newest first unless
    /// <paramref name="order"/> is asc, after the item <paramref name="after"/> names, <paramref name="limit"/> of them
    /// (20 by default). Null when <paramref name="after"/> names no item of the list.
    /// </summary>
    internal static ListObject<T>? Page<T>(IEnumerable<T> oldestFirst, Func<T, string> idOf, string? after, int? limit, string? order)
    {
        var items = (order == "asc" ? oldestFirst : oldestFirst.Reverse()).ToList();
        var start = after is null ? 0 : items.FindIndex(item => idOf(item) == after) + 1;
        if (start == 0 && after is not null)
        {
            return null;
        }
        var page = items.Skip(start).Take(limit ?? DefaultPageSize).ToList();
        return new ListObject<T>(page, page.Count > 0 ? idOf(page[0]) : null, page.Count > 0 ? idOf(page[^1]) : null, items.Count - start > page.Count);
    }

    public static Ok<ListObject<ModelObject>> ListModels(ModelCatalog models)
    {
        var data = models.Models.Select(model => new ModelObject(model)).ToList();
        return TypedResults.Ok(new ListObject<ModelObject>(data, data[0].Id, data[^1].Id, HasMore: false));
    }

    /// <summary>/v1 without a bearer credential: a 401 (OpenAI's invalid_api_key).</summary>
    internal static ProblemHttpResult CredentialRequired() => TypedResults.Problem(
        statusCode: StatusCodes.Status401Unauthorized,
        title: "A bearer credential is required",
        detail: "/v1 takes its user from Authorization: Bearer: an API key (POST /api-keys) or a token of the configured issuer.");

    private static ProblemHttpResult ResponseNotFound(string responseId) =>
        NotFound("response_id", $"No response '{responseId}' exists for this user.");

    private static ProblemHttpResult NotFound(string param, string detail) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail,
        extensions: new Dictionary<string, object?> { ["field"] = param });
}
