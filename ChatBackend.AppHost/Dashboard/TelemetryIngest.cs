using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting.Dashboard;

/// <summary>
/// Between the OTLP receiver and the store: a bounded queue that never makes a sender wait. When the store falls
/// behind and the queue is full, the oldest batch goes and is counted; the dashboard shows the counts. One writer
/// drains it, many batches to a transaction, and trims the store to its limits every few seconds.
/// </summary>
internal sealed partial class TelemetryIngest : BackgroundService
{
    private static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(10);

    private readonly TelemetryStore _store;
    private readonly ILogger<TelemetryIngest> _logger;
    private readonly Channel<TelemetryBatch> _queue;
    private long _droppedSpans;
    private long _droppedLogs;
    private long _droppedPoints;
    private long _droppedConsole;
    private long _written;

    public TelemetryIngest(TelemetryStore store, DashboardOptions options, ILogger<TelemetryIngest> logger)
    {
        _store = store;
        _logger = logger;
        // Bounded in batches: a batch is one export call (up to 512 spans from the .NET exporter) or one console line.
        var capacity = Math.Max(1, options.MaxQueuedItems / 64);
        _queue = Channel.CreateBounded<TelemetryBatch>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            Dropped);
    }

    /// <summary>Queues a batch; never waits.</summary>
    public void Add(TelemetryBatch batch)
    {
        if (batch.Count > 0 && !_queue.Writer.TryWrite(batch))
        {
            Dropped(batch);
        }
    }

    public IngestCounts Counts => new(
        Interlocked.Read(ref _written), Interlocked.Read(ref _droppedSpans), Interlocked.Read(ref _droppedLogs),
        Interlocked.Read(ref _droppedPoints), Interlocked.Read(ref _droppedConsole));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var connection = await _store.OpenAsync(stoppingToken);
        await _store.TrimAsync(connection, DateTimeOffset.UtcNow, stoppingToken);
        var trimmed = DateTimeOffset.UtcNow;
        var batches = new List<TelemetryBatch>();
        // What is queued at stop is still written: the reader ends when the queue is completed and empty.
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            var rows = 0;
            while (rows < 5_000 && _queue.Reader.TryRead(out var batch))
            {
                batches.Add(batch);
                rows += batch.Count;
            }
            try
            {
                await _store.WriteAsync(connection, batches, CancellationToken.None);
                Interlocked.Add(ref _written, rows);
                if (DateTimeOffset.UtcNow - trimmed > TrimInterval)
                {
                    await _store.TrimAsync(connection, DateTimeOffset.UtcNow, CancellationToken.None);
                    trimmed = DateTimeOffset.UtcNow;
                }
            }
            catch (Microsoft.Data.Sqlite.SqliteException exception)
            {
                foreach (var batch in batches)
                {
                    Dropped(batch);
                }
                LogWriteFailed(exception.SqliteErrorCode, exception.Message);
            }
            batches.Clear();
        }
    }

    private void Dropped(TelemetryBatch batch)
    {
        Interlocked.Add(ref _droppedSpans, batch.Spans.Count);
        Interlocked.Add(ref _droppedLogs, batch.Logs.Count);
        Interlocked.Add(ref _droppedPoints, batch.Points.Count);
        Interlocked.Add(ref _droppedConsole, batch.Console.Count);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dashboard could not store a batch of telemetry (SQLite error {Code}: {Message}); it is counted as dropped.")]
    private partial void LogWriteFailed(int code, string message);
}

internal sealed record IngestCounts(long Written, long DroppedSpans, long DroppedLogs, long DroppedPoints, long DroppedConsole);
