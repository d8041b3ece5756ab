using System.Data;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// How every statement and transaction of <c>Data/</c> runs: one unit of work on one pooled connection, again on
/// another where that is safe, and every statement's error of a batch seen (<see cref="ReadToEndAsync"/>).
/// </summary>
internal static class UnitOfWork
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
    /// instead, which ends the loop. A connection that breaks in the middle of a unit is not retried (the server may
    /// have committed it): that is <see cref="DatabaseUnavailableException"/>, whatever the driver threw.
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
                // MySqlConnector reports a use of a connection that broke under it as InvalidOperationException
                // ("Connection must be Open; current state is Broken"), e.g. from a reader's dispose.
                if (exception is InvalidOperationException && connection.State != ConnectionState.Open)
                {
                    throw new DatabaseUnavailableException(exception);
                }
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
    /// Reads what is left of a batch's results after the caller read its own: the server ran every statement, and a
    /// later one's error (a COMMIT that failed) arrives only here. A reader disposed unread would drop that error
    /// (MySqlConnector logs and ignores it), and the caller would take a rolled-back transaction for a committed one.
    /// </summary>
    public static async Task ReadToEndAsync(this MySqlDataReader reader, CancellationToken cancellationToken)
    {
        while (await reader.NextResultAsync(cancellationToken))
        {
        }
    }

    /// <summary>
    /// Ends a transaction that a failed or short-cut batch left open (nothing when none is), so that the connection
    /// goes back to the pool clean; a broken connection needs nothing, its server has rolled back already.
    /// </summary>
    public static async Task RollbackAsync(this MySqlConnection connection)
    {
        if (connection.State != ConnectionState.Open)
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

/// <summary>The connection to the database broke in the middle of a unit of work: whether it was committed is unknown.</summary>
public sealed class DatabaseUnavailableException(Exception inner)
    : Exception("The connection to the database broke during a unit of work.", inner);
