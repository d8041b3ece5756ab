using System.Security.Cryptography;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Every <c>Chat:ProgressInterval</c>, writes the text and tool events of all of this instance's running replies that
/// grew, and the heartbeat of all of them, in one round trip, whatever their number; clears the rows of those that
/// ended; and stops those that another instance asked to cancel. Other instances follow the rows to resume streams and tell a live
/// turn from one whose instance died.
/// </summary>
public sealed partial class ProgressWriter(
    RunningTurns runningTurns, ReplyProgressStore store, IOptions<ChatTurnOptions> options, ILogger<ProgressWriter> logger)
    : BackgroundService
{
    /// <summary>This process among the API's instances, as its progress rows name it.</summary>
    public static readonly string InstanceId =
        $"{Environment.MachineName}-{Environment.ProcessId}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}" is var id
        && id.Length > 64 ? id[^64..] : id;

    // What was written of each run: its text's length and its number of tool events.
    private readonly Dictionary<TurnRun, (int Length, int ToolEvents)> _written = [];
    private readonly List<ProgressKey> _ended = [];

    // Started and stopped by TurnsLifetime, after the running turns have finished: they keep their heartbeat meanwhile.
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ProgressInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }
        using var timer = new PeriodicTimer(interval);
        var failing = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await FlushAsync(stoppingToken);
                if (failing)
                {
                    failing = false;
                    LogRecovered();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // The next tick writes it all again: what grew, what ended. One line per outage, not per tick.
                if (!failing)
                {
                    failing = true;
                    LogFailed(exception.GetType().Name);
                }
            }
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var run in runningTurns.TakeEnded())
        {
            if (_written.Remove(run))
            {
                _ended.Add(Key(run));
            }
        }
        var grown = new List<(TurnRun Run, ReplyProgress Progress, (int, int) Written)>();
        foreach (var run in runningTurns.Runs)
        {
            if (!_written.TryGetValue(run, out var written) || written != (run.Length, run.ToolEventCount))
            {
                // Read together: an event's offset is within the text written with it. The events only when there
                // are new ones (a turn's lists of tools and calls' outputs are not rewritten with every piece of text).
                var (text, tools) = run.Snapshot();
                var turn = run.Turn;
                var newEvents = tools.Count != written.ToolEvents;
                grown.Add((run, new ReplyProgress(turn.ConversationId, turn.MessageNo, turn.Attempt, text,
                    newEvents ? ToolEvent.Serialize(tools) : null), (text.Length, tools.Count)));
            }
        }
        if (_written.Count == 0 && grown.Count == 0 && _ended.Count == 0)
        {
            return;
        }

        var cancels = await store.FlushAsync(
            InstanceId, _ended, [.. grown.Select(entry => entry.Progress)], cancellationToken);
        _ended.Clear();
        foreach (var (run, _, written) in grown)
        {
            _written[run] = written;
        }
        foreach (var cancel in cancels)
        {
            if (runningTurns.Runs.FirstOrDefault(run => Key(run) == cancel) is { } run)
            {
                run.Cancel();
            }
        }
    }

    private static ProgressKey Key(TurnRun run) => new(run.Turn.ConversationId, run.Turn.MessageNo, run.Turn.Attempt);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Writing the progress of running replies failed ({ExceptionType}); other instances cannot follow them until it works again.")]
    private partial void LogFailed(string exceptionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Writing the progress of running replies works again.")]
    private partial void LogRecovered();
}
