using Aspire.Hosting.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatBackend.Tests;

/// <summary>The dashboard's store on a real SQLite file: its limits, its counts, and a queue that never waits.</summary>
public sealed class TelemetryStoreTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("chatbackend-telemetry-store-").FullName;

    [Fact]
    public async Task DataOlderThanTheAgeLimitIsRemovedAndCounted()
    {
        var store = await CreateAsync(("Dashboard:TelemetryLimits:MaxAge", "01:00:00"));
        var now = DateTimeOffset.UtcNow;
        await using var connection = await store.OpenAsync(CancellationToken.None);
        await store.WriteAsync(connection, [TelemetryBatch.Of([Span("old", now.AddHours(-2)), Span("new", now)])], CancellationToken.None);

        await store.TrimAsync(connection, now, CancellationToken.None);

        var traces = await new TelemetryQueries(store).TracesAsync(null, null, null, 100, CancellationToken.None);
        Assert.Equal(["new"], traces.Select(trace => trace.TraceId));
        Assert.Equal(1, store.Trimmed["spans"]);
    }

    [Fact]
    public async Task AboveTheSizeLimitTheOldestDataGoesFirst()
    {
        var store = await CreateAsync(("Dashboard:TelemetryLimits:MaxStorageMegabytes", "1"));
        var now = DateTimeOffset.UtcNow;
        await using var connection = await store.OpenAsync(CancellationToken.None);
        var spans = Enumerable.Range(0, 6_000).Select(i => Span($"t{i:D5}", now.AddSeconds(i - 6_000), attributes: new string('x', 300))).ToList();
        await store.WriteAsync(connection, [TelemetryBatch.Of(spans)], CancellationToken.None);
        Assert.True(await TelemetryStore.UsedBytesAsync(connection, CancellationToken.None) > 1024 * 1024);

        await store.TrimAsync(connection, now, CancellationToken.None);

        Assert.True(await TelemetryStore.UsedBytesAsync(connection, CancellationToken.None) <= 1024 * 1024);
        var newest = await new TelemetryQueries(store).TracesAsync(null, null, null, 1, CancellationToken.None);
        Assert.Equal("t05999", newest.Single().TraceId);
        Assert.Null(await Single(store, "t00000"));
        Assert.True(store.Trimmed["spans"] > 0);
    }

    [Fact]
    public async Task ATraceRowSumsItsSpansAcrossBatchesAndResources()
    {
        var store = await CreateAsync();
        var now = DateTimeOffset.UtcNow;
        await using var connection = await store.OpenAsync(CancellationToken.None);
        await store.WriteAsync(connection, [TelemetryBatch.Of([Span("t", now.AddMilliseconds(5), parent: "root", resource: "apiservice", error: true)])],
            CancellationToken.None);
        await store.WriteAsync(connection, [TelemetryBatch.Of([Span("t", now, spanId: "root", resource: "apiservice", name: "POST /chat-message"),
            Span("t", now.AddMilliseconds(1), parent: "root", resource: "migrator")])], CancellationToken.None);

        var trace = (await Single(store, "t"))!;

        Assert.Equal("POST /chat-message", trace.RootName);
        Assert.Equal(3, trace.SpanCount);
        Assert.Equal(1, trace.ErrorCount);
        Assert.Equal(["apiservice", "migrator"], trace.Resources);
    }

    [Fact]
    public async Task AFullQueueDropsTheOldestBatchesAndCountsThemWithoutWaiting()
    {
        var options = Options(("Dashboard:TelemetryLimits:MaxQueuedItems", "64"));
        var ingest = new TelemetryIngest(new TelemetryStore(options), options, NullLogger<TelemetryIngest>.Instance);
        var now = DateTimeOffset.UtcNow;

        // Not started: nothing drains the queue, which holds one batch (64 items / 64).
        ingest.Add(new PendingTelemetry(TelemetryKind.Spans, 2, () => TelemetryBatch.Of([Span("a", now), Span("b", now)])));
        ingest.Add(new PendingTelemetry(TelemetryKind.Spans, 1, () => TelemetryBatch.Of([Span("c", now)])));

        Assert.Equal(2, ingest.Counts.DroppedSpans);
    }

    private static SpanRow Span(
        string traceId, DateTimeOffset start, string? spanId = null, string? parent = null, string resource = "apiservice", string name = "span",
        bool error = false, string attributes = "") =>
        new(traceId, spanId ?? Guid.NewGuid().ToString("n")[..16], parent, resource, "test", name, 1, UnixTime.Nanoseconds(start),
            UnixTime.Nanoseconds(start.AddMilliseconds(1)), error ? 2 : 0, null, $"{{\"a\":\"{attributes}\"}}", "[]");

    private static async Task<TraceSummary?> Single(TelemetryStore store, string traceId) =>
        (await new TelemetryQueries(store).TracesAsync(null, traceId, null, 10, CancellationToken.None))
        .SingleOrDefault(trace => trace.TraceId == traceId);

    private DashboardOptions Options(params (string Key, string Value)[] settings) =>
        DashboardOptions.From(new ConfigurationBuilder().AddInMemoryCollection(
            settings.Select(setting => new KeyValuePair<string, string?>(setting.Key, setting.Value))
                .Append(new KeyValuePair<string, string?>("AppHost:DataDirectory", _data))).Build());

    private async Task<TelemetryStore> CreateAsync(params (string Key, string Value)[] settings)
    {
        var store = new TelemetryStore(Options(settings));
        await store.CreateAsync(CancellationToken.None);
        return store;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }
}
