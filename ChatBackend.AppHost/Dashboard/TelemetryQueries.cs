using Microsoft.Data.Sqlite;

namespace Aspire.Hosting.Dashboard;

internal sealed record TraceSummary(
    string TraceId, string? RootName, string? RootResource, string[] Resources, long StartNs, double DurationMs, long SpanCount, long ErrorCount);

internal sealed record SpanView(
    string SpanId, string? ParentSpanId, string Resource, string Scope, string Name, int Kind, long StartNs, long EndNs, int StatusCode,
    string? StatusMessage, string Attributes, string Events);

internal sealed record LogView(
    long Id, long TimeNs, string Resource, int Severity, string Category, string Message, string? TraceId, string? SpanId, string Attributes);

internal sealed record InstrumentView(string Resource, string Meter, string Name, string Unit, string Description, string Kind);

internal sealed record PointView(long TimeNs, double Value, double? P50, double? P90, double? P99, string Attributes);

internal sealed record ConsoleLineView(long Id, long TimeNs, string Resource, bool IsError, string Text);

/// <summary>The filters of the structured logs page; every one optional.</summary>
internal sealed record LogFilter(string? Resource, int? MinSeverity, string? Text, long? FromNs, long? ToNs, string? TraceId, long? AfterId, long? BeforeId);

/// <summary>The dashboard's reads. Every caller-supplied count is clamped.</summary>
internal sealed class TelemetryQueries(TelemetryStore store)
{
    public const int MaxPage = 1_000;

    public async Task<List<TraceSummary>> TracesAsync(string? resource, string? text, long? beforeNs, int limit, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT trace_id, root_name, root_resource, resources, start_ns, end_ns, span_count, error_count FROM traces
            WHERE ($before IS NULL OR start_ns < $before)
              AND ($resource IS NULL OR instr(',' || resources || ',', ',' || $resource || ',') > 0)
              AND ($text IS NULL OR instr(lower(coalesce(root_name, '')), lower($text)) > 0 OR trace_id = $text)
            ORDER BY start_ns DESC LIMIT $limit
            """;
        return await ReadAsync(sql, reader => new TraceSummary(
                reader.GetString(0), Nullable(reader, 1), Nullable(reader, 2), reader.GetString(3).Split(',').Distinct().ToArray(), reader.GetInt64(4),
                (reader.GetInt64(5) - reader.GetInt64(4)) / 1e6, reader.GetInt64(6), reader.GetInt64(7)),
            cancellationToken, ("$before", beforeNs), ("$resource", resource), ("$text", text), ("$limit", Clamp(limit)));
    }

    public Task<List<SpanView>> SpansAsync(string traceId, CancellationToken cancellationToken) =>
        ReadAsync("""
            SELECT span_id, parent_span_id, resource, scope, name, kind, start_ns, end_ns, status_code, status_message, attributes, events
            FROM spans WHERE trace_id = $trace ORDER BY start_ns
            """,
            reader => new SpanView(reader.GetString(0), Nullable(reader, 1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt32(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt32(8), Nullable(reader, 9), reader.GetString(10),
                reader.GetString(11)),
            cancellationToken, ("$trace", traceId));

    public Task<List<LogView>> LogsAsync(LogFilter filter, int limit, CancellationToken cancellationToken) =>
        ReadAsync("""
            SELECT id, time_ns, resource, severity, category, message, trace_id, span_id, attributes FROM logs
            WHERE ($resource IS NULL OR resource = $resource) AND ($severity IS NULL OR severity >= $severity)
              AND ($text IS NULL OR instr(lower(message), lower($text)) > 0 OR instr(lower(attributes), lower($text)) > 0)
              AND ($from IS NULL OR time_ns >= $from) AND ($to IS NULL OR time_ns <= $to)
              AND ($trace IS NULL OR trace_id = $trace) AND ($after IS NULL OR id > $after) AND ($before IS NULL OR id < $before)
            ORDER BY id DESC LIMIT $limit
            """,
            reader => new LogView(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4),
                reader.GetString(5), Nullable(reader, 6), Nullable(reader, 7), reader.GetString(8)),
            cancellationToken, ("$resource", filter.Resource), ("$severity", filter.MinSeverity), ("$text", filter.Text), ("$from", filter.FromNs),
            ("$to", filter.ToNs), ("$trace", filter.TraceId), ("$after", filter.AfterId), ("$before", filter.BeforeId), ("$limit", Clamp(limit)));

    public async Task<long> LogCountAsync(string traceId, CancellationToken cancellationToken) =>
        (await ReadAsync("SELECT count(*) FROM logs WHERE trace_id = $trace", reader => reader.GetInt64(0), cancellationToken, ("$trace", traceId)))
        .Single();

    /// <summary>Errors and worse (severity 17+) per resource: the badge on the resources page.</summary>
    public async Task<Dictionary<string, long>> ErrorCountsAsync(CancellationToken cancellationToken) =>
        (await ReadAsync("SELECT resource, count(*) FROM logs WHERE severity >= 17 GROUP BY resource",
            reader => (Resource: reader.GetString(0), Count: reader.GetInt64(1)), cancellationToken))
        .ToDictionary(row => row.Resource, row => row.Count);

    public Task<List<InstrumentView>> InstrumentsAsync(string? resource, CancellationToken cancellationToken) =>
        ReadAsync("""
            SELECT resource, meter, name, unit, description, kind FROM instruments
            WHERE ($resource IS NULL OR resource = $resource) ORDER BY resource, meter, name
            """,
            reader => new InstrumentView(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5)),
            cancellationToken, ("$resource", resource));

    public Task<List<PointView>> PointsAsync(string resource, string meter, string instrument, long fromNs, CancellationToken cancellationToken) =>
        ReadAsync("""
            SELECT time_ns, value, p50, p90, p99, attributes FROM metric_points
            WHERE resource = $resource AND meter = $meter AND instrument = $instrument AND time_ns >= $from ORDER BY time_ns LIMIT 20000
            """,
            reader => new PointView(reader.GetInt64(0), reader.GetDouble(1), NullableDouble(reader, 2), NullableDouble(reader, 3),
                NullableDouble(reader, 4), reader.GetString(5)),
            cancellationToken, ("$resource", resource), ("$meter", meter), ("$instrument", instrument), ("$from", fromNs));

    public Task<List<ConsoleLineView>> ConsoleAsync(string? resource, long? afterId, int limit, CancellationToken cancellationToken) =>
        // The newest lines, shown oldest first.
        ReadAsync("""
            SELECT id, time_ns, resource, is_error, text FROM (
                SELECT id, time_ns, resource, is_error, text FROM console_lines
                WHERE ($resource IS NULL OR resource = $resource) AND ($after IS NULL OR id > $after) ORDER BY id DESC LIMIT $limit)
            ORDER BY id
            """,
            reader => new ConsoleLineView(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3) != 0, reader.GetString(4)),
            cancellationToken, ("$resource", resource), ("$after", afterId), ("$limit", Math.Clamp(limit, 1, 10_000)));

    public async Task<Dictionary<string, long>> CountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        var counts = new Dictionary<string, long>();
        foreach (var table in new[] { "spans", "traces", "logs", "metric_points", "console_lines" })
        {
            await using var command = connection.CreateCommand();
            // max(rowid) - min(rowid) would be faster but wrong after a trim of the middle; count(*) on 100k rows is a few ms.
            command.CommandText = $"SELECT count(*) FROM {table}";
            counts[table] = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        counts["bytes"] = await TelemetryStore.UsedBytesAsync(connection, cancellationToken);
        return counts;
    }

    private static int Clamp(int limit) => Math.Clamp(limit, 1, MaxPage);

    private static string? Nullable(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static double? NullableDouble(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);

    private async Task<List<T>> ReadAsync<T>(
        string sql, Func<SqliteDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value is null or string { Length: 0 } ? DBNull.Value : value);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }
        return rows;
    }
}
