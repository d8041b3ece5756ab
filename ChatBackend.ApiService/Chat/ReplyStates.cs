using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Chat;

/// <summary>How a turn that ended elsewhere ended, read from what it stored.</summary>
public static class ReplyStates
{
    public static TurnOutcome Outcome(ReplyState state) => state switch
    {
        { Status: MessageStatus.Success, Reply: { } reply } =>
            new TurnOutcome.Answered(new AnsweredTurn(state.ConversationId, state.MessageId, reply, state.MessageCount)),
        { Status: MessageStatus.Cancelled } =>
            new TurnOutcome.Cancelled(state.ConversationId, state.MessageId, state.Reply?.Text ?? ""),
        { ErrorCode: "timeout" } => new TurnOutcome.ModelTimedOut(state.ConversationId, state.MessageId),
        { ErrorCode: "server_stopping" } => new TurnOutcome.ServerStopping(state.ConversationId, state.MessageId),
        _ => new TurnOutcome.ModelFailed(state.ConversationId, state.MessageId, "The model provider failed to answer."),
    };
}
