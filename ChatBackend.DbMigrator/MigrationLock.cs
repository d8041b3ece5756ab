using System.Diagnostics;
using MySqlConnector;

namespace ChatBackend.DbMigrator;

/// <summary>
/// A lock that holds across the nodes of a cluster: the one row of <c>schema_migration_lock</c>, which two migrators
/// both try to insert. <c>GET_LOCK</c>, which Evolve takes, holds on one server only: two migrators on two nodes of
/// a Galera cluster (or two members of a Group Replication group) each took it and each applied the scripts (`Table
/// ... already exists`). Of two inserts of one key, one loses, on one server by its unique key (1062), on two by
/// certification (1213). The winner's later commits are ordered after the loser's, so once the loser takes the
/// row in its turn its node has applied everything the winner did. The holder refreshes its row while it migrates;
/// a row left by a migrator that died is taken over once it is older than <see cref="Abandoned"/>.
/// </summary>
internal sealed partial class MigrationLock : IAsyncDisposable
{
    private static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(10);

    private readonly string _connectionString;
    private readonly string _owner = Guid.NewGuid().ToString("n");
    private readonly CancellationTokenSource _stop = new();
    private Task _refreshing = Task.CompletedTask;

    private MigrationLock(string connectionString) => _connectionString = connectionString;

    /// <summary>Waits until this migrator holds the lock, for at most <paramref name="timeout"/>.</summary>
    public static async Task<MigrationLock> TakeAsync(string connectionString, TimeSpan timeout, Action onWaiting, CancellationToken cancellationToken)
    {
        var migrationLock = new MigrationLock(connectionString);
        await migrationLock.ExecuteAsync("""
            CREATE TABLE IF NOT EXISTS schema_migration_lock (
                id         TINYINT     NOT NULL,
                owner      CHAR(32)    CHARACTER SET ascii NOT NULL,
                refreshed  DATETIME(6) NOT NULL,
                PRIMARY KEY (id)
            ) ENGINE=InnoDB
            """, cancellationToken);
        var waited = Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            try
            {
                await migrationLock.ExecuteAsync($"""
                    DELETE FROM schema_migration_lock WHERE id = 1 AND refreshed < UTC_TIMESTAMP(6) - INTERVAL {(int)Abandoned.TotalSeconds} SECOND;
                    INSERT INTO schema_migration_lock (id, owner, refreshed) VALUES (1, @owner, UTC_TIMESTAMP(6));
                    """, cancellationToken);
                migrationLock._refreshing = migrationLock.RefreshAsync();
                return migrationLock;
            }
            catch (MySqlException exception) when (exception.ErrorCode is MySqlErrorCode.DuplicateKeyEntry or MySqlErrorCode.LockDeadlock
                or MySqlErrorCode.LockWaitTimeout)
            {
                if (waited.Elapsed > timeout)
                {
                    throw new MigrationFailedException(
                        $"another migrator held the schema's migration lock for longer than {timeout.TotalSeconds:0} s.", exception);
                }
                if (!told)
                {
                    onWaiting();
                    told = true;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(200 + Random.Shared.Next(200)), cancellationToken);
            }
        }
    }

    private async Task RefreshAsync()
    {
        try
        {
            using var timer = new PeriodicTimer(Refresh);
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await ExecuteAsync("UPDATE schema_migration_lock SET refreshed = UTC_TIMESTAMP(6) WHERE id = 1 AND owner = @owner", _stop.Token);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or MySqlException)
        {
            // Stopped, or the server is gone: the migration itself fails then and says why.
        }
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@owner", _owner);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Gives the lock back (a migrator that dies leaves it for <see cref="Abandoned"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _refreshing;
        _stop.Dispose();
        try
        {
            await ExecuteAsync("DELETE FROM schema_migration_lock WHERE id = 1 AND owner = @owner", CancellationToken.None);
        }
        catch (MySqlException)
        {
            // The server is gone; the row expires.
        }
    }
}
