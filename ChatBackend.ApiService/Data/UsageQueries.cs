using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>A user's spending on the database's UTC day, and how long until that day ends.</summary>
public sealed record DailyUsage(DateOnly Date, long Tokens, int Sends, TimeSpan UntilReset);

/// <summary>
/// Reads usage_daily (migration V6). It is written by the end of each turn, in its own transaction (TurnStore.End.cs), so a
/// user's day is the same on every instance; the day is the database's, one clock for all of them.
/// </summary>
public sealed class UsageQueries(MySqlDataSource dataSource)
{
    public async Task<DailyUsage> GetTodayAsync(long userId, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT UTC_DATE() AS day, COALESCE(d.tokens, 0) AS tokens, COALESCE(d.sends, 0) AS sends,
                   TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), UTC_DATE() + INTERVAL 1 DAY) AS until_reset
            FROM (SELECT 1) AS one
            LEFT JOIN usage_daily d ON d.user_id = @user AND d.day = UTC_DATE()
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SingleRow, cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return new DailyUsage(
                DateOnly.FromDateTime(reader.GetDateTime("day")),
                reader.GetInt64("tokens"),
                reader.GetInt32("sends"),
                TimeSpan.FromSeconds(Math.Max(1, reader.GetInt64("until_reset"))));
        }, cancellationToken);
    }
}
