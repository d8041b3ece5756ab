using MySqlConnector;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What a server that is a node of a Galera cluster (MariaDB Galera, Percona XtraDB Cluster) needs of each session,
/// and whether such a node may serve. A server that is not one (MySQL, or MariaDB without wsrep) has no
/// <c>wsrep_on</c> variable, or has it OFF, and nothing here changes anything on it.
/// </summary>
public static class ClusterNode
{
    /// <summary>
    /// Causal reads: every transaction's start (and every statement outside one: reads, updates, deletes, inserts)
    /// first waits until this node has applied everything the cluster had committed when it was issued (1 + 2 + 4 of
    /// <c>wsrep_sync_wait</c>). A turn's second transaction, and a read right after a write through another node, then
    /// see what the first committed. Within a transaction only its first statement waits (measured: one causal read
    /// per transaction in <c>wsrep_causal_reads</c>).
    /// </summary>
    public const int SyncWait = 7;

    /// <summary>
    /// Sets <see cref="SyncWait"/> on a session that the pool opened or reset, when its server is a Galera node: one
    /// more round trip per physical connection (none per unit of work: pooled sessions keep their settings).
    /// </summary>
    public static async ValueTask OnOpenedAsync(MySqlConnectionOpenedContext context, CancellationToken cancellationToken)
    {
        if (context.Conditions == MySqlConnectionOpenedConditions.None || !await IsGaleraNodeAsync(context.Connection, cancellationToken))
        {
            return;
        }
        await using var command = new MySqlCommand($"SET SESSION wsrep_sync_wait = {SyncWait}", context.Connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<bool> IsGaleraNodeAsync(MySqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new MySqlCommand("SHOW VARIABLES LIKE 'wsrep_on'", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && string.Equals(reader.GetString(1), "ON", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Null when the server may serve: it is no Galera node, or one that is ready (<c>wsrep_ready</c>), Synced
    /// (<c>wsrep_local_state</c> 4) and in the Primary component (<c>wsrep_cluster_status</c>); otherwise why not. A
    /// node cut off from the others still answers a ping, and refuses every statement with 1047.
    /// </summary>
    public static async Task<string?> WhyNotServingAsync(MySqlConnection connection, CancellationToken cancellationToken)
    {
        const string sql = """
            SHOW VARIABLES LIKE 'wsrep_on';
            SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state', 'wsrep_cluster_status');
            """;
        await using var command = new MySqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var galera = await reader.ReadAsync(cancellationToken) && string.Equals(reader.GetString(1), "ON", StringComparison.OrdinalIgnoreCase);
        await reader.NextResultAsync(cancellationToken);
        var status = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (await reader.ReadAsync(cancellationToken))
        {
            status[reader.GetString(0)] = reader.GetString(1);
        }
        if (!galera)
        {
            return null;
        }
        var ready = status.GetValueOrDefault("wsrep_ready") ?? "";
        var state = status.GetValueOrDefault("wsrep_local_state") ?? "";
        var cluster = status.GetValueOrDefault("wsrep_cluster_status") ?? "";
        return ready.Equals("ON", StringComparison.OrdinalIgnoreCase) && state == "4" && cluster.Equals("Primary", StringComparison.OrdinalIgnoreCase)
            ? null
            : $"The database is a Galera node that may not serve (wsrep_ready {ready}, wsrep_local_state {state}, wsrep_cluster_status {cluster}).";
    }
}
