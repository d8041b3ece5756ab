using System.Diagnostics;
using System.Text;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A turn whose reply is being generated here: its text as it grows, piece by piece, and its tool work, for any number
/// of streams that follow it (the first, and resumed ones); its end; and the means to stop it. It owns what the turn holds while it
/// runs, its span and its concurrency permit, and lets go of both when <see cref="RunningTurns"/> ends it.
/// </summary>
public sealed class TurnRun : IDisposable
{
    private readonly Lock _gate = new();
    private readonly StringBuilder _text = new();
    private readonly List<int> _pieceEnds = [];
    private readonly List<ToolEvent> _toolEvents = [];
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Timer _timeLimit;
    private readonly TaskCompletionSource<TurnOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _textEnded;

    private readonly IDisposable? _permit;

    // The permit is the rate limiter's for one turn at once (RateLimits:ConcurrentTurnsPerUser), released as the turn
    // ends; the span is the turn's "chat turn", ended with it.
    public TurnRun(
        StartedTurn turn, bool streaming, TimeSpan timeout, IDisposable? permit = null, Activity? activity = null)
    {
        _permit = permit;
        Activity = activity;
        Turn = turn;
        Streaming = streaming;
        // Not CancelAfter: its timer would throw what a callback of the token throws, and end the process (Fire).
        _timeLimit = new Timer(static run => ((TurnRun)run!).Fire(), this, timeout, Timeout.InfiniteTimeSpan);
    }

    public StartedTurn Turn { get; }

    /// <summary>The turn's span, if it is recorded.</summary>
    public Activity? Activity { get; }

    public long UserId => Turn.UserId;

    public bool Streaming { get; }

    /// <summary>How the turn ended. Faults only when the database failed.</summary>
    public Task<TurnOutcome> Completion => _completion.Task;

    /// <summary>Fires on a cancel, on the turn's time limit, and when the host stops before the turn could finish.</summary>
    public CancellationToken Token => _cancellation.Token;

    public bool CancelRequested { get; private set; }

    /// <summary>The host stopped the turn: its shutdown timeout ran out before the reply was finished.</summary>
    public bool Stopping { get; private set; }

    /// <summary>The length of the text generated so far.</summary>
    public int Length
    {
        get
        {
            lock (_gate)
            {
                return _text.Length;
            }
        }
    }

    /// <summary>The text generated so far.</summary>
    public string Text()
    {
        lock (_gate)
        {
            return _text.ToString();
        }
    }

    /// <summary>How many tool events the turn made so far.</summary>
    public int ToolEventCount
    {
        get
        {
            lock (_gate)
            {
                return _toolEvents.Count;
            }
        }
    }

    /// <summary>The text and the tool events so far, read together: no event refers to text that is not in it.</summary>
    public (string Text, IReadOnlyList<ToolEvent> ToolEvents) Snapshot()
    {
        lock (_gate)
        {
            return (_text.ToString(), [.. _toolEvents]);
        }
    }

    /// <summary>
    /// What came after <paramref name="from"/>: the text's pieces (the first cut where the offset falls inside it) and
    /// the tool events, in order; whether the text is complete; and a task that completes at the next change.
    /// </summary>
    public RunRead Read(StreamPosition from)
    {
        lock (_gate)
        {
            // The first piece that ends after the offset; a follower reads on from there, never from the start.
            var first = _pieceEnds.BinarySearch(from.Offset);
            first = first >= 0 ? first + 1 : ~first;
            var pieces = new List<(string Text, int End)>(_pieceEnds.Count - first);
            var start = from.Offset;
            for (var i = first; i < _pieceEnds.Count; i++)
            {
                pieces.Add((_text.ToString(start, _pieceEnds[i] - start), _pieceEnds[i]));
                start = _pieceEnds[i];
            }
            return new RunRead(ReplyEvent.Merge(pieces, _toolEvents, from), _textEnded, _changed.Task);
        }
    }

    public void Cancel()
    {
        CancelRequested = true;
        Fire();
    }

    public void Stop()
    {
        Stopping = true;
        Fire();
    }

    private void Fire()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The turn ended as the cancel came; its outcome stands.
        }
        catch (AggregateException)
        {
            // A callback of the turn's token failed (the model's HTTP call, say); the turn ends all the same. Thrown
            // on, it would end the process when the time limit's timer fires.
        }
    }

    internal void Append(string piece) => Change(piece, static (run, piece) =>
    {
        run._text.Append(piece);
        run._pieceEnds.Add(run._text.Length);
    });

    /// <summary>A step of the server's tool work, at the text's current end (its entry's offset says so).</summary>
    internal void Add(ToolEvent toolEvent) => Change(toolEvent, static (run, toolEvent) => run._toolEvents.Add(toolEvent));

    // No closure per piece: thousands of streams append their pieces here.
    private void Change<T>(T item, Action<TurnRun, T> change)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            change(this, item);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    private void EndText()
    {
        lock (_gate)
        {
            _textEnded = true;
        }
        _changed.TrySetResult();
    }

    /// <summary>
    /// Ends the run: its text is complete, its span and permit are let go, and then its followers and waiters learn how
    /// the turn ended (the <paramref name="outcome"/>, or the <paramref name="failure"/> of the database that stored it),
    /// so that a response sent on the outcome finds the permit free and the span ended.
    /// </summary>
    internal void End(TurnOutcome? outcome, Exception? failure)
    {
        EndText();
        if (failure is not null || outcome is not TurnOutcome.Answered)
        {
            Activity?.SetStatus(ActivityStatusCode.Error, (failure?.GetType() ?? outcome?.GetType())?.Name);
        }
        Dispose();
        if (failure is null)
        {
            _completion.SetResult(outcome!);
        }
        else
        {
            _completion.SetException(failure);
        }
    }

    public void Dispose()
    {
        _timeLimit.Dispose();
        _cancellation.Dispose();
        _permit?.Dispose();
        Activity?.Dispose();
    }
}

/// <summary>What a follower of a <see cref="TurnRun"/> reads: the new events, whether the text ended, and what next.</summary>
public sealed record RunRead(IReadOnlyList<ReplyEvent> Events, bool Ended, Task Changed);
