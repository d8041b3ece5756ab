using System.Threading.Channels;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Chat;

/// <summary>A turn whose reply is being generated: its pieces as they arrive, its end, and the means to stop it.</summary>
public sealed class TurnRun : IDisposable
{
    private readonly Channel<string>? _deltas;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly TaskCompletionSource<TurnOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TurnRun(StartedTurn turn, long userId, bool streaming, TimeSpan timeout)
    {
        Turn = turn;
        UserId = userId;
        // Unbounded, yet never large: a reply is at most Chat:MaxOutputTokens long. Nobody may be reading it any more
        // (the client went away) and the generation must not wait for a reader.
        _deltas = streaming ? Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true }) : null;
        _cancellation.CancelAfter(timeout);
    }

    public StartedTurn Turn { get; }

    public long UserId { get; }

    public bool Streaming => _deltas is not null;

    /// <summary>The reply's pieces as the model produces them; complete when the generation ends.</summary>
    public ChannelReader<string> Deltas => _deltas?.Reader ?? throw new InvalidOperationException("This turn does not stream.");

    /// <summary>How the turn ended. Faults only when the database failed.</summary>
    public Task<TurnOutcome> Completion => _completion.Task;

    /// <summary>Fires on a cancel, on the turn's time limit, and when the host stops before the turn could finish.</summary>
    public CancellationToken Token => _cancellation.Token;

    public bool CancelRequested { get; private set; }

    /// <summary>The host stopped the turn: its shutdown timeout ran out before the reply was finished.</summary>
    public bool Stopping { get; private set; }

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

    internal void WriteDelta(string piece) => _deltas?.Writer.TryWrite(piece);

    internal void EndDeltas() => _deltas?.Writer.TryComplete();

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

    public void Dispose() => _cancellation.Dispose();
}
