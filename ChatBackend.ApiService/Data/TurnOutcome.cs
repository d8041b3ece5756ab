namespace ChatBackend.ApiService.Data;

/// <summary>
/// How a turn ended, or why it did not start, as the store records and finds it. The turn's own cases (a run that
/// started, a send refused before any database work) derive from it in <c>Chat/</c>.
/// </summary>
public abstract record TurnOutcome
{
    /// <summary>The message is stored as Pending and its reply's number reserved: the turn is the caller's to run.</summary>
    public sealed record Begun(StartedTurn Turn) : TurnOutcome;
    public sealed record Answered(AnsweredTurn Turn) : TurnOutcome;
    public sealed record ConversationNotFound : TurnOutcome;
    public sealed record StillInProgress(string ConversationId, string MessageId) : TurnOutcome;
    public sealed record MessageIdReused(string ConversationId, string MessageId) : TurnOutcome;
    public sealed record IdempotencyKeyReused : TurnOutcome;

    /// <summary>The API key the send was let in by from memory was revoked since (its check in the batch failed); nothing was stored.</summary>
    public sealed record ApiKeyNotValid : TurnOutcome;

    /// <summary>The message a branching send named to follow is not in the conversation, or its turn has no answer.</summary>
    public sealed record BranchPointNotFound(string MessageId) : TurnOutcome;
    public sealed record ModelFailed(string ConversationId, string MessageId, string Reason) : TurnOutcome;
    public sealed record ModelTimedOut(string ConversationId, string MessageId) : TurnOutcome;
    public sealed record ServerStopping(string ConversationId, string MessageId) : TurnOutcome;
    /// <summary>Stopped on request: what was generated, and the server's tool work until then (its entries, JSON).</summary>
    public sealed record Cancelled(string ConversationId, string MessageId, string PartialReply, string? ToolCalls = null) : TurnOutcome;

    /// <summary>This instance fell silent and another took the turn over: the client should follow it there.</summary>
    public sealed record TakenOver(string ConversationId, string MessageId) : TurnOutcome;

    /// <summary>How a turn that ended elsewhere ended, read from what it stored.</summary>
    public static TurnOutcome Stored(ReplyState state) => state switch
    {
        { Status: MessageStatus.Success, Reply: { } reply } =>
            new Answered(new AnsweredTurn(state.ConversationId, state.MessageId, reply, state.MessageCount)),
        { Status: MessageStatus.Cancelled } => new Cancelled(state.ConversationId, state.MessageId, state.Reply?.Text ?? "", state.Reply?.ToolCalls),
        { Error: TurnError.Timeout } => new ModelTimedOut(state.ConversationId, state.MessageId),
        // A turn whose instance died (ended by the stale rows' sweep) is what a stopping server leaves: a 503, and
        // sending it again completes it in place.
        { Error: TurnError.ServerStopping or TurnError.Abandoned } => new ServerStopping(state.ConversationId, state.MessageId),
        { Error: TurnError.ToolServer } => new ModelFailed(state.ConversationId, state.MessageId, "An MCP server could not be reached to list its tools."),
        _ => new ModelFailed(state.ConversationId, state.MessageId, "The model provider failed to answer."),
    };
}
