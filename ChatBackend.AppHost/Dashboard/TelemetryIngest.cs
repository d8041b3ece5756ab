using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting.Dashboard;

/// <summary>
/// Between the OTLP receiver and the store: a bounded queue that never makes a sender wait. When the store falls
/// behind and the queue is full, the oldest item goes and is counted; the dashboard shows the counts. One writer
/// thread converts and writes, many items to a transaction, and trims the store to its limits every few seconds. It
/// runs at the lowest CPU priority (Linux: nice 19 for that thread alone): on a busy machine the services come first,
/// and what the writer cannot keep up with is dropped, not waited for.
/// </summary>
internal sealed partial class TelemetryIngest : BackgroundService
{
    private static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(10);

    private readonly TelemetryStore _store;
    private readonly ILogger<TelemetryIngest> _logger;
    private readonly Channel<PendingTelemetry> _queue;
    private readonly long[] _dropped = new long[Enum.GetValues<TelemetryKind>().Length];
    private long _written;

    public TelemetryIngest(TelemetryStore store, DashboardOptions options, ILogger<TelemetryIngest> logger)
    {
        _store = store;
        _logger = logger;
        // Bounded in items: an item is one export call (up to 512 spans from the .NET exporter) or one console line.
        var capacity = Math.Max(1, options.MaxQueuedItems / 64);
        _queue = Channel.CreateBounded<PendingTelemetry>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            Dropped);
    }

    /// <summary>Queues an item; never waits.</summary>
    public void Add(PendingTelemetry item)
    {
        if (item.Count > 0 && !_queue.Writer.TryWrite(item))
        {
            Dropped(item);
        }
    }

    public IngestCounts Counts => new(
        Interlocked.Read(ref _written), Interlocked.Read(ref _dropped[(int)TelemetryKind.Spans]), Interlocked.Read(ref _dropped[(int)TelemetryKind.Logs]),
        Interlocked.Read(ref _dropped[(int)TelemetryKind.Points]), Interlocked.Read(ref _dropped[(int)TelemetryKind.Console]));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                WriteUntilCompleted();
                done.SetResult();
            }
            catch (Exception exception)
            {
                done.SetException(exception);
            }
        })
        {
            IsBackground = true,
            Name = "Dashboard telemetry writer",
        };
        thread.Start();
        return done.Task;
    }

    // The store's calls are synchronous underneath (Microsoft.Data.Sqlite), so this thread waits on them directly.
    private void WriteUntilCompleted()
    {
        LowerThisThreadsPriority();
        using var connection = _store.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        _store.TrimAsync(connection, DateTimeOffset.UtcNow, CancellationToken.None).GetAwaiter().GetResult();
        var trimmed = DateTimeOffset.UtcNow;
        var items = new List<PendingTelemetry>();
        // What is queued at stop is still written: the reader ends when the queue is completed and empty.
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            var rows = 0;
            while (rows < 5_000 && _queue.Reader.TryRead(out var item))
            {
                items.Add(item);
                rows += item.Count;
            }
            try
            {
                _store.WriteAsync(connection, [.. items.Select(item => item.Convert())], CancellationToken.None).GetAwaiter().GetResult();
                Interlocked.Add(ref _written, rows);
                if (DateTimeOffset.UtcNow - trimmed > TrimInterval)
                {
                    _store.TrimAsync(connection, DateTimeOffset.UtcNow, CancellationToken.None).GetAwaiter().GetResult();
                    trimmed = DateTimeOffset.UtcNow;
                }
            }
            catch (SqliteException exception)
            {
                items.ForEach(Dropped);
                LogWriteFailed(exception.SqliteErrorCode, exception.Message);
            }
            catch (Exception exception) when (exception is FormatException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
            {
                // Telemetry the converter cannot read is dropped and counted, and the writer goes on.
                items.ForEach(Dropped);
                LogConversionFailed(exception.GetType().Name);
            }
            items.Clear();
        }
    }

    private void Dropped(PendingTelemetry item) => Interlocked.Add(ref _dropped[(int)item.Kind], item.Count);

    private static void LowerThisThreadsPriority()
    {
        if (OperatingSystem.IsLinux())
        {
            // On Linux a thread's nice value is its own: setpriority on its thread id leaves the rest of the AppHost alone.
            _ = SetPriority(0 /* PRIO_PROCESS */, GetThreadId(), 19);
        }
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dashboard could not read a batch of telemetry ({ExceptionType}); it is counted as dropped.")]
    private partial void LogConversionFailed(string exceptionType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dashboard could not store a batch of telemetry (SQLite error {Code}: {Message}); it is counted as dropped.")]
    private partial void LogWriteFailed(int code, string message);
}

internal sealed record IngestCounts(long Written, long DroppedSpans, long DroppedLogs, long DroppedPoints, long DroppedConsole);
