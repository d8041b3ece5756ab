using Microsoft.Data.Sqlite;

namespace Aspire.Hosting.Dashboard;

/// <summary>
/// The dashboard's SQLite file: spans (with a row per trace kept up to date as its spans arrive, so a page of traces
/// is an index scan), logs, metric points with their instruments, and console lines. One writer adds batches in a
/// transaction; readers run beside it (WAL). Trim removes what is older than the age limit and, above the size limit,
/// the oldest tenth of each table.
/// </summary>
internal sealed class TelemetryStore(DashboardOptions options)
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS spans (
            trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT, resource TEXT NOT NULL, scope TEXT NOT NULL,
            name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
            status_code INTEGER NOT NULL, status_message TEXT, attributes TEXT NOT NULL, events TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id);
        CREATE TABLE IF NOT EXISTS traces (
            trace_id TEXT PRIMARY KEY, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, root_name TEXT, root_resource TEXT,
            resources TEXT NOT NULL, span_count INTEGER NOT NULL, error_count INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS traces_start ON traces (start_ns);
        CREATE TABLE IF NOT EXISTS logs (
            id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, resource TEXT NOT NULL, severity INTEGER NOT NULL,
            category TEXT NOT NULL, message TEXT NOT NULL, trace_id TEXT, span_id TEXT, attributes TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS logs_trace ON logs (trace_id);
        CREATE INDEX IF NOT EXISTS logs_severity ON logs (severity, resource);
        CREATE TABLE IF NOT EXISTS instruments (
            resource TEXT NOT NULL, meter TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, description TEXT NOT NULL,
            kind TEXT NOT NULL, PRIMARY KEY (resource, meter, name)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS metric_points (
            id INTEGER PRIMARY KEY, resource TEXT NOT NULL, meter TEXT NOT NULL, instrument TEXT NOT NULL, time_ns INTEGER NOT NULL,
            value REAL NOT NULL, p50 REAL, p90 REAL, p99 REAL, attributes TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS metric_points_instrument ON metric_points (resource, meter, instrument, time_ns);
        CREATE TABLE IF NOT EXISTS console_lines (
            id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, resource TEXT NOT NULL, is_error INTEGER NOT NULL, text TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS console_lines_resource ON console_lines (resource, id);
        """;

    private const string InsertSpan = """
        INSERT INTO spans (trace_id, span_id, parent_span_id, resource, scope, name, kind, start_ns, end_ns, status_code, status_message, attributes, events)
        VALUES ($trace, $span, $parent, $resource, $scope, $name, $kind, $start, $end, $status, $message, $attributes, $events)
        """;

    // A trace's row grows with each batch of its spans: its first start, its last end, the root's name, every resource
    // it touched. A batch's spans are summed per trace first, so a trace costs one statement per batch, not per span.
    private const string UpsertTrace = """
        INSERT INTO traces (trace_id, start_ns, end_ns, root_name, root_resource, resources, span_count, error_count)
        VALUES ($trace, $start, $end, $root, $rootResource, $resources, $spans, $errors)
        ON CONFLICT (trace_id) DO UPDATE SET
            start_ns = min(start_ns, excluded.start_ns), end_ns = max(end_ns, excluded.end_ns),
            root_name = coalesce(excluded.root_name, root_name), root_resource = coalesce(excluded.root_resource, root_resource),
            resources = CASE WHEN instr(',' || resources || ',', ',' || excluded.resources || ',') > 0 THEN resources
                             ELSE resources || ',' || excluded.resources END,
            span_count = span_count + excluded.span_count, error_count = error_count + excluded.error_count
        """;

    private const string InsertLog = """
        INSERT INTO logs (time_ns, resource, severity, category, message, trace_id, span_id, attributes)
        VALUES ($time, $resource, $severity, $category, $message, $trace, $span, $attributes)
        """;

    private const string UpsertInstrument = """
        INSERT INTO instruments (resource, meter, name, unit, description, kind) VALUES ($resource, $meter, $name, $unit, $description, $kind)
        ON CONFLICT DO NOTHING
        """;

    private const string InsertPoint = """
        INSERT INTO metric_points (resource, meter, instrument, time_ns, value, p50, p90, p99, attributes)
        VALUES ($resource, $meter, $name, $time, $value, $p50, $p90, $p99, $attributes)
        """;

    private const string InsertConsole = "INSERT INTO console_lines (time_ns, resource, is_error, text) VALUES ($time, $resource, $error, $text)";

    private static readonly (string Table, string TimeColumn)[] Tables =
        [("spans", "start_ns"), ("logs", "time_ns"), ("metric_points", "time_ns"), ("console_lines", "time_ns")];

    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = options.StorePath, Pooling = true }.ToString();

    /// <summary>Rows removed by the age and size limits, per table, since the AppHost started.</summary>
    public Dictionary<string, long> Trimmed { get; } = Tables.ToDictionary(table => table.Table, _ => 0L);

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(options.StorePath)!);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // auto_vacuum takes effect only before the first table: set on a new file, kept after.
        command.CommandText = "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;" + Schema;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Writes batches in one transaction.</summary>
    public async Task WriteAsync(SqliteConnection connection, IReadOnlyList<TelemetryBatch> batches, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var spans = batches.SelectMany(batch => batch.Spans).ToList();
        if (spans.Count > 0)
        {
            await using var insert = Command(connection, transaction, InsertSpan, "$trace", "$span", "$parent", "$resource", "$scope", "$name",
                "$kind", "$start", "$end", "$status", "$message", "$attributes", "$events");
            await using var trace = Command(connection, transaction, UpsertTrace, "$trace", "$start", "$end", "$root", "$rootResource",
                "$resources", "$spans", "$errors");
            foreach (var span in spans)
            {
                await RunAsync(insert, cancellationToken, span.TraceId, span.SpanId, span.ParentSpanId, span.Resource, span.Scope, span.Name,
                    span.Kind, span.StartNs, span.EndNs, span.StatusCode, span.StatusMessage, span.Attributes, span.Events);
            }
            foreach (var group in spans.GroupBy(span => span.TraceId))
            {
                var root = group.FirstOrDefault(span => span.ParentSpanId is null);
                await RunAsync(trace, cancellationToken, group.Key, group.Min(span => span.StartNs), group.Max(span => span.EndNs), root?.Name,
                    root?.Resource, string.Join(',', group.Select(span => span.Resource).Distinct()), group.Count(),
                    group.Count(span => span.StatusCode == 2));
            }
        }
        var logs = batches.SelectMany(batch => batch.Logs).ToList();
        if (logs.Count > 0)
        {
            await using var insert = Command(connection, transaction, InsertLog, "$time", "$resource", "$severity", "$category", "$message",
                "$trace", "$span", "$attributes");
            foreach (var log in logs)
            {
                await RunAsync(insert, cancellationToken, log.TimeNs, log.Resource, log.Severity, log.Category, log.Message, log.TraceId,
                    log.SpanId, log.Attributes);
            }
        }
        var points = batches.SelectMany(batch => batch.Points).ToList();
        if (points.Count > 0)
        {
            await using var instrument = Command(connection, transaction, UpsertInstrument, "$resource", "$meter", "$name", "$unit",
                "$description", "$kind");
            await using var insert = Command(connection, transaction, InsertPoint, "$resource", "$meter", "$name", "$time", "$value", "$p50",
                "$p90", "$p99", "$attributes");
            foreach (var point in points.DistinctBy(point => (point.Resource, point.Meter, point.Instrument)))
            {
                await RunAsync(instrument, cancellationToken, point.Resource, point.Meter, point.Instrument, point.Unit, point.Description, point.Kind);
            }
            foreach (var point in points)
            {
                await RunAsync(insert, cancellationToken, point.Resource, point.Meter, point.Instrument, point.TimeNs, point.Value, point.P50,
                    point.P90, point.P99, point.Attributes);
            }
        }
        var lines = batches.SelectMany(batch => batch.Console).ToList();
        if (lines.Count > 0)
        {
            await using var insert = Command(connection, transaction, InsertConsole, "$time", "$resource", "$error", "$text");
            foreach (var line in lines)
            {
                await RunAsync(insert, cancellationToken, line.TimeNs, line.Resource, line.IsError ? 1 : 0, line.Text);
            }
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Removes what is older than the age limit and, while the file is above its size limit, the oldest tenth.</summary>
    public async Task TrimAsync(SqliteConnection connection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var cutoff = UnixTime.Nanoseconds(now - options.MaxAge);
        var removed = false;
        foreach (var (table, time) in Tables)
        {
            removed |= await DeleteAsync(connection, table, $"DELETE FROM {table} WHERE {time} < $cutoff", ("$cutoff", cutoff), cancellationToken) > 0;
        }
        // Over the size limit: the oldest share of each table goes, as much as would bring it to 80% of the limit (between
        // a tenth and a half a round: half-empty pages of the indexes still count, so it takes a few rounds).
        for (var round = 0; round < 10 && await UsedBytesAsync(connection, cancellationToken) is var used && used > options.MaxStorageBytes; round++)
        {
            var share = Math.Clamp(1 - (0.8 * options.MaxStorageBytes / used), 0.1, 0.5);
            foreach (var (table, _) in Tables)
            {
                removed |= await DeleteAsync(connection, table,
                    $"DELETE FROM {table} WHERE rowid <= (SELECT min(rowid) + CAST((max(rowid) - min(rowid)) * $share AS INTEGER) FROM {table})",
                    ("$share", share), cancellationToken) > 0;
            }
            await ExecuteAsync(connection, "PRAGMA incremental_vacuum", cancellationToken);
        }
        if (removed)
        {
            await ExecuteAsync(connection, """
                DELETE FROM traces WHERE NOT EXISTS (SELECT 1 FROM spans WHERE spans.trace_id = traces.trace_id);
                DELETE FROM instruments WHERE NOT EXISTS (SELECT 1 FROM metric_points p
                    WHERE p.resource = instruments.resource AND p.meter = instruments.meter AND p.instrument = instruments.name);
                PRAGMA incremental_vacuum;
                """, cancellationToken);
        }
    }

    /// <summary>The "clear" action: everything goes.</summary>
    public async Task ClearAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, """
            DELETE FROM spans; DELETE FROM traces; DELETE FROM logs; DELETE FROM instruments; DELETE FROM metric_points; DELETE FROM console_lines;
            PRAGMA incremental_vacuum;
            """, cancellationToken);
    }

    /// <summary>The pages of the file that hold data (free pages are reused before the file grows).</summary>
    public static async Task<long> UsedBytesAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<int> DeleteAsync(
        SqliteConnection connection, string table, string sql, (string Name, object Value) parameter, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        var count = await command.ExecuteNonQueryAsync(cancellationToken);
        lock (Trimmed)
        {
            Trimmed[table] += count;
        }
        return count;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        command.Prepare();
        return command;
    }

    private static Task<int> RunAsync(SqliteCommand command, CancellationToken cancellationToken, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
        return command.ExecuteNonQueryAsync(cancellationToken);
    }
}
