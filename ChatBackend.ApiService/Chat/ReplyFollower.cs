using System.Runtime.CompilerServices;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Follows a reply wherever it is generated: a run of this instance directly, piece by piece and tool event by tool
/// event; a run of another instance through the text and tool events it writes to the database every progress
/// interval; a stored reply at once. A turn
/// whose instance fell silent is taken over here, so that a resumed stream finishes it.
/// </summary>
public sealed class ReplyFollower(
    RunningTurns runningTurns, ReplyProgressStore progress, ChatTurnService chat, IStoredTurnSettings storedSettings,
    TemporaryResponses temporary, IOptions<ChatTurnOptions> options)
{
    /// <summary>A run of this instance, from <paramref name="from"/> on.</summary>
    public async IAsyncEnumerable<ReplyEvent> FollowAsync(
        TurnRun run, StreamPosition from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var position = from;
        if (position.Attempt != run.Turn.Attempt)
        {
            position = new StreamPosition(run.Turn.Attempt, 0);
            if (Had(from))
            {
                yield return new ReplyEvent.Restarted(position);
            }
        }
        while (true)
        {
            var read = run.Read(position);
            foreach (var item in read.Events)
            {
                position = item.Position;
                yield return item;
            }
            if (read.Ended)
            {
                break;
            }
            await read.Changed.WaitAsync(cancellationToken);
        }
        var outcome = await run.Completion.WaitAsync(cancellationToken);
        foreach (var last in Ending(outcome, position))
        {
            yield return last;
        }
    }

    /// <summary>A reply stored before, from <paramref name="from"/> on.</summary>
    public static IAsyncEnumerable<ReplyEvent> Replay(AnsweredTurn answered, StreamPosition from) =>
        Ending(new TurnOutcome.Answered(answered), from).ToAsyncEnumerable();

    /// <summary>A user's message, wherever its reply is generated, from <paramref name="from"/> on.</summary>
    public async IAsyncEnumerable<ReplyEvent> FollowAsync(
        long userId, string conversationId, string messageId, StreamPosition from,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var position = from;
        while (true)
        {
            if (runningTurns.Find(conversationId, messageId) is { } local && local.UserId == userId)
            {
                await foreach (var item in FollowAsync(local, position, cancellationToken))
                {
                    yield return item;
                }
                yield break;
            }

            var state = await progress.GetReplyStateAsync(conversationId, userId, messageId, cancellationToken);
            if (state is null)
            {
                yield return new ReplyEvent.Ended(new TurnOutcome.ConversationNotFound(), position);
                yield break;
            }
            if (state.Attempt != position.Attempt)
            {
                var restarted = Had(position);
                position = new StreamPosition(state.Attempt, 0);
                if (restarted)
                {
                    yield return new ReplyEvent.Restarted(position);
                }
            }

            if (state.Status != MessageStatus.Pending)
            {
                foreach (var last in Ending(TurnOutcome.Stored(state), position))
                {
                    yield return last;
                }
                yield break;
            }
            if (TakesOver(state))
            {
                // Its instance died: a new attempt here, which the next round follows as a local run.
                var taken = await TakeOverAsync(state, cancellationToken);
                if (taken is not (TurnStarted or TurnOutcome.StillInProgress or TurnOutcome.Answered))
                {
                    yield return new ReplyEvent.Ended(taken, position);
                    yield break;
                }
                continue;
            }
            if (state.ProgressText is { } text)
            {
                foreach (var item in After(text, ToolEvent.Parse(state.ProgressToolEvents), position))
                {
                    position = item.Position;
                    yield return item;
                }
            }
            await Task.Delay(settings.ProgressEnabled ? settings.ProgressInterval : TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    /// <summary>Whether a turn read from the database is Pending on an instance that fell silent: one to take over.</summary>
    public bool TakesOver(ReplyState state) => state.Status == MessageStatus.Pending && state.Silence > options.Value.AbandonedAfter;

    /// <summary>
    /// A new attempt here of a turn whose instance died, as it was asked (its settings read back, its message's kind):
    /// <see cref="TurnStarted"/>, or how it stands when another instance was quicker.
    /// </summary>
    public async Task<TurnOutcome> TakeOverAsync(ReplyState state, CancellationToken cancellationToken)
    {
        // A response's settings are its request's; a native send's are on its message's row.
        var stored = await storedSettings.FindAsync(state.UserId, state.ConversationId, state.MessageId, cancellationToken);
        var outcome = await chat.BeginAsync(
            new TurnRequest(
                state.Message, state.UserId, state.MessageId, state.ConversationId,
                Settings: stored?.Settings ?? TurnSettings.FromStored(state.SendSettings), Kind: state.Kind, RetakeOnly: true),
            streaming: true, cancellationToken);
        if (stored is { Temporary: true } && outcome is TurnStarted(var run))
        {
            temporary.ForgetWhenEnded(run, state.MessageId, state.UserId);
        }
        return outcome;
    }

    // The end of a reply: what of its stored text (a cancelled reply's part of it) and tool events the stream has not
    // had yet, then the outcome.
    internal static IEnumerable<ReplyEvent> Ending(TurnOutcome outcome, StreamPosition position)
    {
        var (text, tools) = outcome switch
        {
            TurnOutcome.Answered(var answered) => (answered.Reply.Text, ToolEvent.Of(ToolCall.Parse(answered.Reply.ToolCalls))),
            TurnOutcome.Cancelled(_, _, var partial, var toolCalls) => (partial, ToolEvent.Of(ToolCall.Parse(toolCalls))),
            _ => ((string?)null, (IReadOnlyList<ToolEvent>)[]),
        };
        if (text is not null)
        {
            if (position.Offset > text.Length || position.Tools > tools.Count)
            {
                position = position with { Offset = 0, Tools = 0 };
                yield return new ReplyEvent.Restarted(position);
            }
            foreach (var item in After(text, tools, position))
            {
                position = item.Position;
                yield return item;
            }
        }
        yield return new ReplyEvent.Ended(outcome, position);
    }

    // A whole text and its tool events after a position (nothing of the text when the position is past it: the
    // database's text may be behind what the client had of this instance's run).
    private static List<ReplyEvent> After(string text, IReadOnlyList<ToolEvent> tools, StreamPosition position) =>
        ReplyEvent.Merge(text.Length > position.Offset ? [(text[position.Offset..], text.Length)] : [], tools, position);

    // Whether a stream at this position had anything of its attempt.
    private static bool Had(StreamPosition position) => position.Offset > 0 || position.Tools > 0;
}
