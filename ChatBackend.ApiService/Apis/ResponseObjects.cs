using System.Text.Json;
using System.Text.Json.Nodes;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Apis;

/// <summary>A response as every read of it starts: its id, conversation and what its request asked.</summary>
public sealed record ResponseHead(string Id, string ConversationId, ResponseRequestRecord Request)
{
    /// <summary>The id of its output message (one per response: its reply), made once: a stream writes it with every piece.</summary>
    public string OutputItemId { get; } = $"msg_{Id[Ids.ResponsePrefix.Length..]}";

    /// <summary>The id of its output's function call number <paramref name="index"/>.</summary>
    public string FunctionCallId(int index) => $"fc_{Id[Ids.ResponsePrefix.Length..]}_{index}";

    /// <summary>The id of its output's MCP item number <paramref name="index"/> (a list of tools, or a call).</summary>
    public string McpItemId(int index) => $"mcp_{Id[Ids.ResponsePrefix.Length..]}_{index}";

    private const string ApprovalPrefix = "mcpr_";

    /// <summary>The id of the approval request of the model's call <paramref name="callId"/> (an mcp_approval_request item).</summary>
    public static string ApprovalRequestId(string callId) => $"{ApprovalPrefix}{callId}";

    /// <summary>The call an approval request's id names.</summary>
    public static string ApprovalCallId(string requestId) =>
        requestId.StartsWith(ApprovalPrefix, StringComparison.Ordinal) ? requestId[ApprovalPrefix.Length..] : requestId;

    public static ResponseHead From(ResponseRow row) =>
        new(row.Id, row.ConversationId, JsonSerializer.Deserialize<ResponseRequestRecord>(row.Request)
            ?? throw new InvalidOperationException($"Response {row.Id} has no request."));
}

/// <summary>
/// The response object of a turn, from its head and how the turn stands: running (with the text and tool work so
/// far), answered, cut at max_output_tokens, cancelled or failed. The same turn gives the same object wherever it is
/// read.
/// </summary>
public static class ResponseObjects
{
    public const string Queued = "queued";
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Incomplete = "incomplete";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";

    private static readonly JsonElement NoTools = JsonDocument.Parse("[]").RootElement;

    /// <summary>
    /// A turn still running (no <paramref name="outcome"/>: its text and tool events so far), or ended as
    /// <paramref name="outcome"/> says.
    /// </summary>
    public static ResponseObject For(
        ResponseHead head, TurnOutcome? outcome, string? textSoFar = null, IReadOnlyList<ToolEvent>? toolsSoFar = null,
        string running = InProgress)
    {
        var request = head.Request;
        var (status, text, reply, error, toolCalls) = outcome switch
        {
            null or TurnOutcome.TakenOver or TurnOutcome.StillInProgress => (running, textSoFar, null, null, null),
            TurnOutcome.Answered(var answered) => (answered.Reply.FinishReason == "length" ? Incomplete : Completed,
                answered.Reply.Text, answered.Reply, (ResponseErrorObject?)null, answered.Reply.ToolCalls),
            // A cancelled reply keeps its tool work, as its stream showed it.
            TurnOutcome.Cancelled(_, _, var partial, var ran) => (Cancelled, partial, null, null, ran),
            TurnOutcome.ModelFailed(_, _, var reason) => (Failed, null, null, new ResponseErrorObject("server_error", reason), null),
            TurnOutcome.ModelTimedOut => (Failed, null, null, new ResponseErrorObject("timeout", "The model did not answer within the turn's time (Chat:Timeout)."), null),
            TurnOutcome.ServerStopping => (Failed, null, null, new ResponseErrorObject("server_error", "The server stopped before the reply was finished."), null),
            _ => (Failed, null, null, new ResponseErrorObject("server_error", "The response's conversation was deleted before its reply was stored."), null),
        };
        var entries = ToolCall.Parse(toolCalls);
        // What the server ran where it happened in the text, the message where its text began, the client's calls last.
        var output = ResponseOutput.Of(head, text, status == running ? toolsSoFar ?? [] : ToolEvent.Of(entries));
        if (output.MessageIndex is not null)
        {
            output.EndMessage(new OutputMessageItem(head.OutputItemId, status == Completed ? Completed : status == InProgress ? InProgress : Incomplete, [new OutputTextContent(text!)]));
        }
        foreach (var (call, index) in entries.Where(call => call.IsFunctionCall).Select((call, index) => (call, index)))
        {
            output.Add(new FunctionCallItem(head.FunctionCallId(index), call.CallId, call.Name!, call.Arguments!, Completed));
        }
        return new ResponseObject(
            Id: head.Id,
            CreatedAt: request.CreatedAt,
            Status: status,
            Background: request.Background,
            Error: error,
            IncompleteDetails: status == Incomplete ? new IncompleteDetails("max_output_tokens") : null,
            Instructions: request.Instructions,
            MaxOutputTokens: request.MaxOutputTokens,
            Model: reply?.Model ?? request.Model,
            Output: output.Items,
            ParallelToolCalls: request.ParallelToolCalls,
            PreviousResponseId: request.PreviousResponseId,
            Conversation: request.Conversation is { } conversation ? new ConversationReference(conversation) : null,
            Store: request.Store,
            Temperature: request.Temperature,
            Text: request.Text,
            ToolChoice: request.ToolChoice,
            TopP: request.TopP,
            Usage: reply is null ? null : new ResponseUsage(reply.InputTokens ?? 0, reply.OutputTokens ?? 0),
            Metadata: request.Metadata,
            Tools: request.Tools is { } tools ? WithoutHeaders(tools) : NoTools);
    }

    // The tools as the request gave them, but an mcp tool's headers and authorization (credentials): kept for the turn,
    // never answered.
    private static JsonElement WithoutHeaders(JsonElement tools)
    {
        if (tools.ValueKind != JsonValueKind.Array || !tools.EnumerateArray().Any(tool => tool.ValueKind == JsonValueKind.Object
            && (tool.TryGetProperty("headers", out _) || tool.TryGetProperty("authorization", out _))))
        {
            return tools;
        }
        var list = JsonNode.Parse(tools.GetRawText())!.AsArray();
        foreach (var tool in list.OfType<JsonObject>())
        {
            tool.Remove("headers");
            tool.Remove("authorization");
        }
        return JsonSerializer.SerializeToElement(list);
    }

    /// <summary>A response as the database has it: running, with the text and tool events its instance wrote so far, or ended.</summary>
    public static ResponseObject For(ResponseHead head, ReplyState state) => state.Status == MessageStatus.Pending
        ? For(head, null, state.ProgressText, ToolEvent.Parse(state.ProgressToolEvents))
        : For(head, TurnOutcome.Stored(state));
}
