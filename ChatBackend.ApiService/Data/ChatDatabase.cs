using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>How the API uses its database: the connection defaults, and which failures mean it is unavailable.</summary>
public static class ChatDatabase
{
    /// <summary>The connection string's name (SPEC §5).</summary>
    public const string ConnectionName = "chatdb";

    /// <summary>
    /// The connection defaults, applied where the connection string is silent. Every unit of work here ends its own
    /// transaction (COMMIT, or ROLLBACK on any failure) and sets no session state, so resetting each pooled
    /// connection as it is opened (twice a turn) buys nothing; skipping it raised the data path's throughput by
    /// about 40% in the bench. The TechEmpower ASP.NET MySQL apps run the same way. A turn's batch keeps what one of its
    /// statements counted in a user variable (<c>@turn_…</c>, set before it is read) for a later one: the driver must let
    /// those through rather than take them for missing parameters.
    /// </summary>
    public static void ApplyConnectionDefaults(MySqlConnectionStringBuilder connectionString)
    {
        if (!connectionString.ContainsKey("Connection Reset"))
        {
            connectionString.ConnectionReset = false;
        }
        connectionString.AllowUserVariables = true;
    }

    /// <summary>
    /// Connection-level failures (refused, dropped, timed out, pool exhausted, server shutting down, a lock that
    /// could not be had), a cluster node that may not serve (a Galera node joining, or cut off from the Primary
    /// component: 1047 "WSREP has not yet prepared node for application use"; a Group Replication member in
    /// super-read-only: 1290) and a schema that is not there yet (the migrator has not run). A server error about the
    /// SQL itself is a bug, not an unavailable database.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        MySqlException mysql => mysql.IsTransient || IsNodeNotReady(mysql) || UnitOfWork.IsLockConflict(mysql)
            || mysql.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.ServerShutdown
                or MySqlErrorCode.CommandTimeoutExpired or MySqlErrorCode.NoSuchTable or MySqlErrorCode.UnknownDatabase
                or MySqlErrorCode.ConnectionCountError or MySqlErrorCode.AccessDenied
            || mysql.Number is 0 or >= 2000
            || mysql.InnerException is IOException or System.Net.Sockets.SocketException,
        TimeoutException or DatabaseUnavailableException or UnitOfWork.CommitLostException => true,
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };

    /// <summary>A cluster node that refuses statements until it has joined its Primary component again.</summary>
    public static bool IsNodeNotReady(MySqlException exception) =>
        exception.ErrorCode is MySqlErrorCode.UnknownCommand or MySqlErrorCode.OptionPreventsStatement;
}
