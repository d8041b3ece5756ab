using System.Runtime.CompilerServices;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Follows a reply wherever it is generated: a run of this instance directly, piece by piece; a run of another
/// instance through the text it writes to the database every progress interval; a stored reply at once. A turn
/// whose instance fell silent is taken over here, so that a resumed stream finishes it.
/// </summary>
public sealed class ReplyFollower(
    RunningTurns runningTurns, ReplyProgressStore progress, ChatTurnService chat, IStoredTurnSettings storedSettings,
    IOptions<ChatTurnOptions> options)
{
    /// <summary>A run of this instance, from <paramref name="from"/> on.</summary>
    public async IAsyncEnumerable<ReplyEvent> FollowAsync(
        TurnRun run, StreamPosition from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var position = from;
        if (position.Attempt != run.Turn.Attempt)
        {
            position = new StreamPosition(run.Turn.Attempt, 0);
            if (from.Offset > 0)
            {
                yield return new ReplyEvent.Restarted(position);
            }
        }
        while (true)
        {
            var read = run.Read(position.Offset);
            foreach (var (text, end) in read.Pieces)
            {
                position = position with { Offset = end };
                yield return new ReplyEvent.Delta(text, position);
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
                var restarted = position.Offset > 0;
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
            if (state.ProgressText is { } text && text.Length > position.Offset)
            {
                var delta = text[position.Offset..];
                position = position with { Offset = text.Length };
                yield return new ReplyEvent.Delta(delta, position);
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
        var asked = await storedSettings.FindAsync(state.UserId, state.ConversationId, state.MessageId, cancellationToken)
            ?? TurnSettings.FromStored(state.SendSettings);
        return await chat.BeginAsync(
            new TurnRequest(state.Message, state.UserId, state.MessageId, state.ConversationId, Settings: asked, Kind: state.Kind),
            streaming: true, cancellationToken);
    }

    // The end of a reply: what of an answered reply's text the stream has not had yet, then the outcome.
    internal static IEnumerable<ReplyEvent> Ending(TurnOutcome outcome, StreamPosition position)
    {
        if (outcome is TurnOutcome.Answered(var answered))
        {
            var text = answered.Reply.Text;
            if (position.Offset > text.Length)
            {
                position = position with { Offset = 0 };
                yield return new ReplyEvent.Restarted(position);
            }
            if (text.Length > position.Offset)
            {
                var delta = text[position.Offset..];
                position = position with { Offset = text.Length };
                yield return new ReplyEvent.Delta(delta, position);
            }
        }
        yield return new ReplyEvent.Ended(outcome, position);
    }
}
