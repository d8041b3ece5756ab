using System.Text;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A turn whose reply is being generated here: its text as it grows, piece by piece, for any number of streams that
/// follow it (the first, and resumed ones); its end; and the means to stop it.
/// </summary>
public sealed class TurnRun : IDisposable
{
    private readonly Lock _gate = new();
    private readonly StringBuilder _text = new();
    private readonly List<int> _pieceEnds = [];
    private readonly CancellationTokenSource _cancellation = new();
    private readonly TaskCompletionSource<TurnOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _textEnded;

    private readonly IDisposable? _permit;

    // The permit is the rate limiter's for one turn at once (RateLimits:ConcurrentTurnsPerUser), released as the turn ends.
    public TurnRun(StartedTurn turn, long userId, bool streaming, TimeSpan timeout, IDisposable? permit = null)
    {
        _permit = permit;
        Turn = turn;
        UserId = userId;
        Streaming = streaming;
        _cancellation.CancelAfter(timeout);
    }

    public StartedTurn Turn { get; }

    public long UserId { get; }

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

    /// <summary>
    /// The pieces after <paramref name="offset"/> (the first cut where the offset falls inside it), whether the text
    /// is complete, and a task that completes at the next change.
    /// </summary>
    public TextRead Read(int offset)
    {
        lock (_gate)
        {
            // The first piece that ends after the offset; a follower reads on from there, never from the start.
            var first = _pieceEnds.BinarySearch(offset);
            first = first >= 0 ? first + 1 : ~first;
            var pieces = new List<(string Text, int End)>(_pieceEnds.Count - first);
            var start = offset;
            for (var i = first; i < _pieceEnds.Count; i++)
            {
                pieces.Add((_text.ToString(start, _pieceEnds[i] - start), _pieceEnds[i]));
                start = _pieceEnds[i];
            }
            return new TextRead(pieces, _textEnded, _changed.Task);
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
    }

    internal void Append(string piece)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _text.Append(piece);
            _pieceEnds.Add(_text.Length);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    internal void EndText()
    {
        lock (_gate)
        {
            _textEnded = true;
        }
        _changed.TrySetResult();
    }

    internal async Task RunAsync(Func<Task<TurnOutcome>> generation)
    {
        try
        {
            _completion.SetResult(await generation());
        }
        catch (Exception exception)
        {
            _completion.SetException(exception);
        }
    }

    public void Dispose()
    {
        _cancellation.Dispose();
        _permit?.Dispose();
    }
}

/// <summary>What a follower of a <see cref="TurnRun"/> reads: new pieces with the offset each ends at, and what next.</summary>
public sealed record TextRead(IReadOnlyList<(string Text, int End)> Pieces, bool Ended, Task Changed);
