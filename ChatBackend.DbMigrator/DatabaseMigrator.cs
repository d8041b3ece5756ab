using System.Diagnostics;
using System.Reflection;
using EvolveDb;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace ChatBackend.DbMigrator;

/// <summary>A migration that cannot complete; its message is safe to log (no password, no SQL).</summary>
public sealed class MigrationFailedException(string message, Exception? inner = null) : Exception(message, inner);

// Evolve applies the versioned SQL files under Migrations/ and records them in its history table. It takes a
// MySQL named lock (GET_LOCK) around the run, which holds on one server only; MigrationLock, taken first, holds across
// a cluster's nodes too, so two migrators started at once apply each script exactly once wherever they run.
public sealed partial class DatabaseMigrator(
    MySqlDataSource dataSource,
    IOptions<MigratorOptions> options,
    ILogger<DatabaseMigrator> logger)
{
    public const string HistoryTable = "schema_history";

    public async Task<string> MigrateAsync(CancellationToken cancellationToken)
    {
        var target = new MySqlConnectionStringBuilder(dataSource.ConnectionString);
        if (string.IsNullOrEmpty(target.Database))
        {
            throw new MigrationFailedException("the connection string names no database (add Database=chatdb).");
        }

        await EnsureDatabaseAsync(target, cancellationToken);
        await using var migrationLock = await MigrationLock.TakeAsync(
            target.ConnectionString, options.Value.LockWaitTimeout, LogWaitingForLock, cancellationToken);
        return await Task.Run(() => ApplyMigrations(target.ConnectionString), cancellationToken);
    }

    // CREATE DATABASE IF NOT EXISTS on the server, as Aspire's AddDatabase does from 9.3. The server may still be
    // starting (a container or a fresh data directory), so connection failures are retried until the wait runs out.
    private async Task EnsureDatabaseAsync(MySqlConnectionStringBuilder target, CancellationToken cancellationToken)
    {
        var server = new MySqlConnectionStringBuilder(target.ConnectionString)
        {
            Database = "",
            Pooling = false,
            ConnectionTimeout = 5,
        };
        var timeout = options.Value.ServerWaitTimeout;
        var waited = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await using var connection = new MySqlConnection(server.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.CommandText =
                    $"CREATE DATABASE IF NOT EXISTS {new MySqlCommandBuilder().QuoteIdentifier(target.Database)} " +
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci";
                await command.ExecuteNonQueryAsync(cancellationToken);
                return;
            }
            catch (MySqlException exception) when (IsServerNotReady(exception))
            {
                if (waited.Elapsed >= timeout)
                {
                    throw new MigrationFailedException(
                        $"the database server at {target.Server}:{target.Port} did not accept connections within " +
                        $"{timeout.TotalSeconds:0} s ({exception.Message}).", exception);
                }
                LogWaiting(target.Server, target.Port);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
            catch (MySqlException exception)
            {
                throw new MigrationFailedException(
                    $"the database server at {target.Server}:{target.Port} refused the request ({exception.Message}).", exception);
            }
        }
    }

    private string ApplyMigrations(string connectionString)
    {
        try
        {
            using var connection = new MySqlConnection(connectionString);
            var evolve = new Evolve(connection, message => LogEvolve(message))
            {
                EmbeddedResourceAssemblies = [Assembly.GetExecutingAssembly()],
                MetadataTableName = HistoryTable,
                IsEraseDisabled = true,
                EnableClusterMode = true,
            };
            evolve.Migrate();
            return CurrentVersion(connectionString);
        }
        catch (EvolveException exception)
        {
            throw new MigrationFailedException(exception.Message, exception);
        }
    }

    private static string CurrentVersion(string connectionString)
    {
        using var connection = new MySqlConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT version FROM {HistoryTable} WHERE success = 1 AND version IS NOT NULL ORDER BY id DESC LIMIT 1";
        return command.ExecuteScalar() as string ?? "none";
    }

    // A server that is down, still starting, or restarting after its first initialisation (the MySQL image does
    // that) answers with a refused or dropped connection; anything else, such as wrong credentials, is final.
    private static bool IsServerNotReady(MySqlException exception) =>
        exception.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.ServerShutdown
        || exception.IsTransient;

    [LoggerMessage(Level = LogLevel.Information, Message = "Waiting for the database server at {Server}:{Port} to accept connections.")]
    private partial void LogWaiting(string server, uint port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Another migrator holds the schema's migration lock; waiting for it to finish.")]
    private partial void LogWaitingForLock();

    [LoggerMessage(Level = LogLevel.Information, Message = "{Message}")]
    private partial void LogEvolve(string message);
}
