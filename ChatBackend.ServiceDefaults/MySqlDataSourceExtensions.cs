using MySqlConnector;

namespace Microsoft.Extensions.Hosting;

public static class MySqlDataSourceExtensions
{
    /// <summary>How many times a unit that lost a deadlock or waited out a lock runs in all before its error stands.</summary>
    private const int LockConflictAttempts = 3;

    /// <summary>
    /// Runs one unit of work (one statement, or one transaction in one batch) on a pooled connection, and again on
    /// another when the connection it was handed had died with its server, or when the unit lost a deadlock (1213) or
    /// waited out a lock (1205). Any failure rolls back what the unit left open, so running it again is safe.
    /// </summary>
    /// <remarks>
    /// Nothing checks a pooled connection as it is handed out (<c>Connection Reset=false</c>), so each one that died
    /// with its server (a restart while the API was idle) fails at its first use, before the new server has run any of
    /// the unit, and is then discarded: the unit runs again on the next, as many times as the pool can hold dead
    /// connections. Each such failure is immediate (the socket is closed); a server that is down fails the open
    /// instead, which ends the loop.
    /// </remarks>
    public static async Task<T> RunAsync<T>(
        this MySqlDataSource dataSource, Func<MySqlConnection, Task<T>> unit, CancellationToken cancellationToken)
    {
        var lockConflicts = 0;
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            try
            {
                return await unit(connection);
            }
            catch (Exception exception)
            {
                await connection.RollbackAsync();
                if (exception is not MySqlException failure || cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                if (IsDeadConnection(failure) && attempt <= MaximumPoolSize(dataSource))
                {
                    continue; // The next attempt takes another pooled connection, or opens a fresh one.
                }
                if (!IsLockConflict(failure) || ++lockConflicts >= LockConflictAttempts)
                {
                    throw;
                }
            }
            // Jitter, growing with each conflict, so that the transactions that collided do not collide again.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 50) * lockConflicts), cancellationToken);
        }
    }

    /// <summary>
    /// Whether the server answers a ping (COM_PING, no statement run), moving past pooled connections that died with
    /// their server as <see cref="RunAsync{T}"/> does: on one of those a ping answers false rather than throwing.
    /// </summary>
    public static async Task<bool> PingAsync(this MySqlDataSource dataSource, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            if (await connection.PingAsync(cancellationToken))
            {
                return true;
            }
            if (cancellationToken.IsCancellationRequested || attempt > MaximumPoolSize(dataSource))
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Ends a transaction that a failed or short-cut batch left open (nothing when none is), so that the connection
    /// goes back to the pool clean; a broken connection needs nothing, its server has rolled back already.
    /// </summary>
    public static async Task RollbackAsync(this MySqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }
        try
        {
            await using var rollback = new MySqlCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (MySqlException)
        {
            // The connection is broken; the server has rolled the transaction back already.
        }
    }

    // The connection itself failed (no server error number: the socket was closed or reset); a command timeout is not
    // that, since the server may still be running the command.
    private static bool IsDeadConnection(MySqlException exception) =>
        exception.Number == 0 && exception.ErrorCode != MySqlErrorCode.CommandTimeoutExpired;

    private static bool IsLockConflict(MySqlException exception) =>
        exception.ErrorCode is MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout;

    // Read only when a connection has failed, so the connection string is not parsed on the way of every unit.
    private static uint MaximumPoolSize(MySqlDataSource dataSource) =>
        new MySqlConnectionStringBuilder(dataSource.ConnectionString).MaximumPoolSize;
}
