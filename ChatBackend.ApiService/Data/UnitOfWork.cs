using System.Data;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// How every statement and transaction of <c>Data/</c> runs: one unit of work on one pooled connection, again on
/// another where that is safe, and every statement's error of a batch seen (<see cref="ReadToEndAsync"/>).
/// </summary>
internal static class UnitOfWork
{
    /// <summary>
    /// How a transaction in one batch starts, with <see cref="Commit"/> its end. A Galera node that aborts a
    /// transaction for a conflicting writeset from another node (a brute-force abort) can lose the abort's error when
    /// it lands in the middle of a statement: the batch then goes on, its later statements committing one by one,
    /// and its COMMIT answers OK for a transaction that was rolled back (acknowledged replies lost, half-stored turns;
    /// seen on MariaDB 10.11 with Galera 26.4). So autocommit is off for the batch (a statement after a lost abort
    /// opens a new transaction instead of committing) and a savepoint marks the transaction: releasing it before the
    /// COMMIT fails (1305) in any other transaction, the batch stops there, and the unit runs again.
    /// </summary>
    public const string Begin = "SET autocommit = 0;\nSTART TRANSACTION;\nSAVEPOINT unit_of_work;\n";

    /// <summary>The end of a transaction begun by <see cref="Begin"/>.</summary>
    public const string Commit = "RELEASE SAVEPOINT unit_of_work;\nCOMMIT;\nSET autocommit = 1;\n";

    /// <summary>
    /// A COMMIT that answered OK for a transaction that did not commit, seen by the batch's read after it: the unit
    /// runs again. A Galera node can lose a conflict's abort (see <see cref="Begin"/>) at the COMMIT itself too, which
    /// the savepoint, released before it, cannot see; so the batches whose commit a client is told of (a turn's start
    /// and its end) read back, after the COMMIT, what they wrote.
    /// </summary>
    public sealed class CommitLostException() : Exception("A COMMIT answered OK for a transaction that did not commit.");

    // The savepoint of Begin is gone: the transaction was rolled back under the batch (see Begin).
    private const int SavepointGone = 1305;

    // Group Replication rolled the transaction back at COMMIT for a conflict with another member's (certification).
    private const int RolledBackAtCommit = 3101;

    /// <summary>
    /// How many times a unit that lost a deadlock or waited out a lock runs in all before its error stands. On a
    /// multi-primary cluster (Galera, Group Replication) every transaction that wrote a row another node's transaction
    /// wrote first loses at certification (1213, also at COMMIT), and twenty sends at once into one conversation
    /// through two nodes made three attempts too few: a send could lose three times in a row.
    /// </summary>
    private const int LockConflictAttempts = 12;

    /// <summary>The longest wait between two attempts of a unit that lost a conflict (with jitter, at most 4 s in all).</summary>
    private static readonly TimeSpan LongestConflictBackOff = TimeSpan.FromMilliseconds(640);

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
                // ("Connection must be Open; current state is Broken"), e.g. from a reader's dispose; and a stream cut
                // or garbled under a read (a proxy's backend killed mid-packet) may come through unwrapped. Whether
                // the unit committed is unknown either way.
                if ((exception is InvalidOperationException && connection.State != ConnectionState.Open)
                    || exception is MySqlProtocolException or IOException or System.Net.Sockets.SocketException)
                {
                    throw new DatabaseUnavailableException(exception);
                }
                await connection.RollbackAsync();
                if (exception is CommitLostException && ++lockConflicts < LockConflictAttempts && !cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(ConflictBackOff(lockConflicts), cancellationToken);
                    continue;
                }
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
            await Task.Delay(ConflictBackOff(lockConflicts), cancellationToken);
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
    /// Ends a transaction that a failed or short-cut batch left open (nothing when none is) and turns autocommit back
    /// on (<see cref="Begin"/> turned it off), so that the connection goes back to the pool clean; a broken connection
    /// needs nothing, its server has rolled back already.
    /// </summary>
    /// <remarks>
    /// The ROLLBACK runs again when it fails (a Galera node may report a conflict's abort once more, to the next
    /// statement), and autocommit is turned back on by a statement of its own: a Galera node that is joining or cut
    /// off refuses ROLLBACK with 1047 (there is no transaction then: it refused START TRANSACTION too) but takes SET.
    /// A connection that went back to the pool with autocommit off would leave every later single statement on it
    /// uncommitted, so one that cannot be made clean is closed and its pool cleared of it.
    /// </remarks>
    public static async Task RollbackAsync(this MySqlConnection connection)
    {
        if (connection.State != ConnectionState.Open)
        {
            return;
        }
        var clean = false;
        for (var attempt = 1; attempt <= 3 && !clean && connection.State == ConnectionState.Open; attempt++)
        {
            clean = await TryExecuteAsync(connection, "ROLLBACK");
        }
        // Setting autocommit back inside a transaction would commit it: only once none is open.
        if ((clean || (connection.State == ConnectionState.Open && !await InTransactionAsync(connection)))
            && await TryExecuteAsync(connection, "SET autocommit = 1"))
        {
            return;
        }
        if (connection.State == ConnectionState.Open)
        {
            await connection.CloseAsync();
            MySqlConnection.ClearPool(connection);
        }
    }

    private static async Task<bool> TryExecuteAsync(MySqlConnection connection, string sql)
    {
        try
        {
            await using var command = new MySqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
            return true;
        }
        catch (MySqlException)
        {
            return false;
        }
    }

    // Whether the session is inside a transaction: the server says so in every OK packet's status flags, which
    // MySqlConnector does not expose; @@in_transaction is MariaDB's, and a MySQL server without it answers false here.
    private static async Task<bool> InTransactionAsync(MySqlConnection connection)
    {
        try
        {
            await using var command = new MySqlCommand("SELECT @@in_transaction", connection);
            return Convert.ToInt64(await command.ExecuteScalarAsync(CancellationToken.None), System.Globalization.CultureInfo.InvariantCulture) != 0;
        }
        catch (MySqlException)
        {
            return false;
        }
    }

    /// <summary>
    /// The wait before the attempt after the <paramref name="conflicts"/>th conflict: exponential from 5 ms, capped,
    /// with full jitter (a random wait up to the bound), so that the transactions that collided, on one node or on two,
    /// do not collide again in step.
    /// </summary>
    internal static TimeSpan ConflictBackOff(int conflicts)
    {
        var bound = Math.Min(LongestConflictBackOff.TotalMilliseconds, 5 * Math.Pow(2, Math.Min(conflicts, 10)));
        return TimeSpan.FromMilliseconds(2 + (Random.Shared.NextDouble() * bound));
    }

    // The connection itself failed (no server error number: the socket was closed or reset); a command timeout is not
    // that, since the server may still be running the command.
    private static bool IsDeadConnection(MySqlException exception) =>
        exception.Number == 0 && exception.ErrorCode != MySqlErrorCode.CommandTimeoutExpired;

    /// <summary>
    /// A unit that lost a conflict and may run again: a deadlock (1213, also a cluster's certification failure), a
    /// lock waited out (1205), a transaction rolled back under its batch (see <see cref="Begin"/>) or at a Group
    /// Replication COMMIT (3101).
    /// </summary>
    public static bool IsLockConflict(MySqlException exception) =>
        exception.ErrorCode is MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout
        || exception.Number is RolledBackAtCommit
        || (exception.Number == SavepointGone && exception.Message.Contains("unit_of_work", StringComparison.Ordinal));

    // Read only when a connection has failed, so the connection string is not parsed on the way of every unit.
    private static uint MaximumPoolSize(MySqlDataSource dataSource) =>
        new MySqlConnectionStringBuilder(dataSource.ConnectionString).MaximumPoolSize;
}

/// <summary>The connection to the database broke in the middle of a unit of work: whether it was committed is unknown.</summary>
public sealed class DatabaseUnavailableException(Exception inner)
    : Exception("The connection to the database broke during a unit of work.", inner);
