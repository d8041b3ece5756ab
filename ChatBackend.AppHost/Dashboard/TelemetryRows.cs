namespace Aspire.Hosting.Dashboard;

/// <summary>OTLP's time: nanoseconds since the Unix epoch.</summary>
internal static class UnixTime
{
    public static long Nanoseconds(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks * 100;
}

// What the store keeps, one row each; attributes and events as JSON objects. Times are Unix nanoseconds.

internal sealed record SpanRow(
    string TraceId, string SpanId, string? ParentSpanId, string Resource, string Scope, string Name, int Kind,
    long StartNs, long EndNs, int StatusCode, string? StatusMessage, string Attributes, string Events);

internal sealed record LogRow(
    long TimeNs, string Resource, int Severity, string Category, string Message, string? TraceId, string? SpanId, string Attributes);

/// <summary>
/// One metric point. Value is a gauge's or sum's value and a histogram's count; a histogram also has its percentiles,
/// estimated from its buckets.
/// </summary>
internal sealed record MetricPointRow(
    string Resource, string Meter, string Instrument, string Unit, string Description, string Kind, long TimeNs,
    double Value, double? P50, double? P90, double? P99, string Attributes);

internal sealed record ConsoleRow(long TimeNs, string Resource, bool IsError, string Text);

public enum TelemetryKind
{
    Spans,
    Logs,
    Points,
    Console,
}

/// <summary>
/// What one OTLP call or one console line brings, not yet converted: the writer converts it on its own low-priority
/// thread, so a request only parses and queues. Count is what it holds, for the drop counters.
/// </summary>
internal sealed record PendingTelemetry(TelemetryKind Kind, int Count, Func<TelemetryBatch> Convert);

/// <summary>The store's rows of one or more pending items.</summary>
internal sealed record TelemetryBatch(
    IReadOnlyList<SpanRow> Spans, IReadOnlyList<LogRow> Logs, IReadOnlyList<MetricPointRow> Points, IReadOnlyList<ConsoleRow> Console)
{
    public int Count => Spans.Count + Logs.Count + Points.Count + Console.Count;

    public static TelemetryBatch Of(IReadOnlyList<SpanRow> spans) => new(spans, [], [], []);

    public static TelemetryBatch Of(IReadOnlyList<LogRow> logs) => new([], logs, [], []);

    public static TelemetryBatch Of(IReadOnlyList<MetricPointRow> points) => new([], [], points, []);

    public static TelemetryBatch Of(ConsoleRow line) => new([], [], [], [line]);
}
