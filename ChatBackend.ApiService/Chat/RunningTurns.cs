using System.Collections.Concurrent;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// The turns running in this process, found by conversation and message id for a cancel; the one owner of a run's
/// lifetime, from <see cref="Start"/> to its end. When the host stops, they get its shutdown timeout to finish; those
/// that cannot are stopped shortly before it ends, so that they store what they generated and their responses (a 503,
/// a stream's resume event) still reach the client before the server closes (<see cref="TurnsLifetime"/>).
/// </summary>
public sealed partial class RunningTurns(
    IOptions<HostOptions> host, IOptions<ChatTurnOptions> options, IHostApplicationLifetime lifetime, ILogger<RunningTurns> logger)
    : IDisposable
{
    /// <summary>What is kept of the shutdown timeout for storing the stopped turns and ending their responses.</summary>
    public static readonly TimeSpan EndingReserve = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<(string ConversationId, string MessageId), TurnRun> _runs = new();
    private readonly ConcurrentQueue<TurnRun> _ended = new();
    private readonly CancellationTokenSource _deadline = new();
    private CancellationTokenRegistration _onStopping;
    private CancellationTokenRegistration _onDeadline;

    /// <summary>
    /// Runs <paramref name="generate"/> for the run in the background, apart from the request that started it, and
    /// ends the run when it returns: it leaves the running turns, then <see cref="TurnRun.End"/>.
    /// </summary>
    public void Start(TurnRun run, Func<TurnRun, Task<TurnOutcome>> generate)
    {
        _runs[(run.Turn.ConversationId, run.Turn.MessageId)] = run;
        if (_deadline.IsCancellationRequested)
        {
            run.Stop();
        }
        // Task.Run carries the turn's span as the current activity; the request's own flow is left as it was.
        _ = Task.Run(async () =>
        {
            TurnOutcome? outcome = null;
            Exception? failure = null;
            try
            {
                outcome = await generate(run);
            }
            catch (Exception exception)
            {
                failure = exception;
            }
            Remove(run);
            run.End(outcome, failure);
        }, CancellationToken.None);
    }

    private void Remove(TurnRun run)
    {
        // Kept for the progress writer, which clears their rows.
        if (_runs.TryRemove(new((run.Turn.ConversationId, run.Turn.MessageId), run)) && options.Value.ProgressEnabled)
        {
            _ended.Enqueue(run);
        }
    }

    /// <summary>The turns running now.</summary>
    public ICollection<TurnRun> Runs => _runs.Values;

    /// <summary>The turns that ended since the last call.</summary>
    public List<TurnRun> TakeEnded()
    {
        var ended = new List<TurnRun>();
        while (_ended.TryDequeue(out var run))
        {
            ended.Add(run);
        }
        return ended;
    }

    public TurnRun? Find(string conversationId, string messageId) => _runs.GetValueOrDefault((conversationId, messageId));

    // The server stops first and waits for its open requests until the shutdown timeout, so the clock starts when
    // the host begins stopping, not when the turns are drained.
    public void WatchShutdown()
    {
        _onDeadline = _deadline.Token.Register(StopUnfinished);
        _onStopping = lifetime.ApplicationStopping.Register(() =>
        {
            var timeout = host.Value.ShutdownTimeout;
            var grace = timeout > EndingReserve * 2 ? timeout - EndingReserve : timeout / 2;
            if (!_runs.IsEmpty)
            {
                LogDraining(_runs.Count, grace.TotalSeconds);
            }
            _deadline.CancelAfter(grace);
        });
    }

    /// <summary>Waits until every turn running now has ended, or <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_runs.Values.Select(run => run.Completion)).WaitAsync(cancellationToken);
        }
        catch (Exception)
        {
            // A turn whose store failed was reported by its request; a wait that ran out ends here.
        }
    }

    public void Dispose()
    {
        _onStopping.Dispose();
        _onDeadline.Dispose();
        _deadline.Dispose();
    }

    private void StopUnfinished()
    {
        var unfinished = _runs.Values.ToArray();
        if (unfinished.Length == 0)
        {
            return;
        }
        LogStopping(unfinished.Length);
        foreach (var run in unfinished)
        {
            run.Stop();
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Shutting down: waiting up to {Seconds} s for the {Count} replies being generated.")]
    private partial void LogDraining(int count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Shutting down: {Count} replies could not finish in time; their partial text is stored and their streams told to resume.")]
    private partial void LogStopping(int count);
}
