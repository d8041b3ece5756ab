using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// Once a minute, deletes what outlived its use: Idempotency-Keys older than their 24 hours, and progress rows that
/// dead instances left (no heartbeat for an hour, long after any resume or takeover), a thousand of each at most per
/// round so that a backlog never makes one long statement. Every instance runs it; the deletes do not collide.
/// </summary>
public sealed partial class StaleRowsPurge(MySqlDataSource dataSource, ILogger<StaleRowsPurge> logger) : BackgroundService
{
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
        const string sql = """
            DELETE FROM idempotency_key WHERE created_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY LIMIT 1000;
            DELETE FROM reply_progress WHERE heartbeat_at < UTC_TIMESTAMP(6) - INTERVAL 1 HOUR LIMIT 1000;
            """;
        await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purging expired keys and abandoned progress rows failed ({ExceptionType}); the next round tries again.")]
    private partial void LogFailed(string exceptionType);
}
