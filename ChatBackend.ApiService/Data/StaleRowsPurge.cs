using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// Once a minute, deletes what outlived its use: Idempotency-Keys older than their 24 hours, and progress rows that
/// dead instances left (no heartbeat for an hour, long after any resume or takeover), a thousand of each at most per
/// round so that a backlog never makes one long statement. Every instance runs it; the deletes do not collide (the
/// responses' below each take their conversation's lock, and one instance's finds nothing left to delete).
/// It also ends the turns that no instance runs any more: a message still Pending with no news (its update, its
/// progress row's heartbeat) for <paramref name="pendingSilence"/>, longer than any turn may run (the registration
/// gives Chat:Timeout, at least the takeover's silence, and a minute), belonged to an instance that died, or to a transaction
/// a cluster lost, and no retry took it over: it becomes Error (<c>abandoned</c>), which history readers see as it is
/// and a retry with the same message_id takes up in place. A response that was not to be stored (<c>store: false</c>),
/// whose instance died before it could forget it, is deleted instead, as its instance would have once it ended (its
/// conversation too when the response began it).
/// </summary>
public sealed partial class StaleRowsPurge(
    MySqlDataSource dataSource, ResponseQueries responses, ILogger<StaleRowsPurge> logger, TimeSpan? pendingSilence = null) : BackgroundService
{
    /// <summary>The silence after which a Pending turn is ended when the registration names none.</summary>
    public static readonly TimeSpan DefaultPendingSilence = TimeSpan.FromMinutes(2);

    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PurgeAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogFailed(exception.GetType().Name);
            }
        }
    }

    /// <summary>One round of the purge.</summary>
    public async Task PurgeAsync(CancellationToken cancellationToken)
    {
        // READ COMMITTED (see TurnStore.StartTransaction): the sweep's search locks only the rows it ends. It writes
        // no conversation row (a response's delete below takes its own, first); a turn that takes one of these
        // messages over meanwhile holds it, and the sweep's condition (Pending, silent) no longer matches it once that
        // turn has written it.
        const string sql = """
            DELETE FROM idempotency_key WHERE created_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY LIMIT 1000;
            DELETE FROM reply_progress WHERE heartbeat_at < UTC_TIMESTAMP(6) - INTERVAL 1 HOUR LIMIT 1000;
            SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
            UPDATE message_store m
            LEFT JOIN reply_progress p ON p.conv_id = m.conv_id AND p.message_no = m.message_no AND p.attempt = m.attempt
            SET m.Status = 'Error', m.error_code = 'abandoned', m.updated_at = UTC_TIMESTAMP(6)
            WHERE m.Status = 'Pending' AND m.updated_at < UTC_TIMESTAMP(6) - INTERVAL @silent_us MICROSECOND
              AND COALESCE(p.heartbeat_at, m.updated_at) < UTC_TIMESTAMP(6) - INTERVAL @silent_us MICROSECOND;
            """;
        // The responses not to be stored among the turns ended so (the last day's: the index on Status, updated_at).
        const string temporary = """
            SELECT m.message_id, c.user_id
            FROM message_store m JOIN conversation_store c ON c.conv_id = m.conv_id
            WHERE m.Status = 'Error' AND m.error_code = 'abandoned' AND m.updated_at > UTC_TIMESTAMP(6) - INTERVAL 1 DAY
              AND m.request IS NOT NULL AND JSON_UNQUOTE(JSON_EXTRACT(m.request, '$.store')) = 'false'
            ORDER BY m.updated_at
            LIMIT 100;
            """;
        var silent = pendingSilence ?? DefaultPendingSilence;
        var forgotten = await dataSource.RunAsync(async connection =>
        {
            await using (var command = new MySqlCommand(sql, connection))
            {
                command.Parameters.AddWithValue("@silent_us", (long)silent.TotalMicroseconds);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await using var select = new MySqlCommand(temporary, connection);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            List<(string ResponseId, long UserId)> found = [];
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add((reader.GetString(0), reader.GetInt64(1)));
            }
            return found;
        }, cancellationToken);
        foreach (var (responseId, userId) in forgotten)
        {
            // One that fails (its conversation's lock held too long) waits for the next round; the others go now.
            try
            {
                await responses.DeleteAsync(responseId, userId, forgetting: true, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogNotForgotten(responseId, exception.GetType().Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purging expired keys, abandoned progress rows and turns failed ({ExceptionType}); the next round tries again.")]
    private partial void LogFailed(string exceptionType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting response {ResponseId}, abandoned and not to be stored, failed ({ExceptionType}); the next round tries again.")]
    private partial void LogNotForgotten(string responseId, string exceptionType);
}
