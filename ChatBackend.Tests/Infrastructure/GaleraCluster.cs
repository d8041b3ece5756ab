using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MySqlConnector;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// A three-node MariaDB Galera cluster on loopback, and haproxy in front of it, run by <c>eng/galera.sh</c> (the bench
/// runs the same script): every node on its own free ports under one temporary directory, as the mysql user when the
/// tests run as root. A node can be killed (SIGKILL), started again (it rejoins by an incremental transfer), and cut
/// off from the others.
/// </summary>
public sealed class GaleraCluster : IAsyncDisposable
{
    private readonly string _script;
    private readonly string _directory;
    private readonly int[] _ports;

    private GaleraCluster(string script, string directory, int[] ports)
    {
        _script = script;
        _directory = directory;
        _ports = ports;
    }

    /// <summary>Node <paramref name="node"/>'s (1-3) connection string, with <paramref name="database"/>.</summary>
    public string NodeConnectionString(int node, string database = "") => ConnectionString(_ports[(node - 1) * 4], database);

    /// <summary>Through haproxy to one node at a time: node 1 while it is Synced and Primary, else node 2, else 3.</summary>
    public string SingleWriterConnectionString(string database = "") => ConnectionString(_ports[12], database);

    /// <summary>Through haproxy, each connection to the next Synced, Primary node in turn.</summary>
    public string RoundRobinConnectionString(string database = "") => ConnectionString(_ports[13], database);

    public static async Task<GaleraCluster> StartAsync()
    {
        var script = FindScript();
        var directory = Path.Combine(Path.GetTempPath(), "chatbackend-tests", $"galera-{Guid.NewGuid().ToString("n")[..8]}");
        Directory.CreateDirectory(directory);
        var cluster = new GaleraCluster(script, directory, FreePorts(14));
        await cluster.RunAsync(["init", directory, .. cluster._ports.Select(port => port.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        await cluster.RunAsync(["start", directory, "1", "new"]);
        await cluster.RunAsync(["start", directory, "2"]);
        await cluster.RunAsync(["start", directory, "3"]);
        await cluster.RunAsync(["haproxy", directory]);
        return cluster;
    }

    /// <summary>Starts node <paramref name="node"/> again and waits until it is Synced.</summary>
    public Task StartNodeAsync(int node) => RunAsync(["start", _directory, node.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>SIGKILL to node <paramref name="node"/>: no shutdown, no last write.</summary>
    public Task KillNodeAsync(int node) => RunAsync(["kill", _directory, node.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>Cuts node <paramref name="node"/> off the others (it turns non-Primary a few seconds later), or lets it back.</summary>
    public Task IsolateNodeAsync(int node, bool isolated) =>
        RunAsync(["isolate", _directory, node.ToString(System.Globalization.CultureInfo.InvariantCulture), isolated ? "1" : "0"]);

    /// <summary>A wsrep status variable of node <paramref name="node"/>.</summary>
    public async Task<string> StatusAsync(int node, string variable)
    {
        await using var connection = new MySqlConnection(NodeConnectionString(node) + ";Pooling=false;Connection Timeout=2");
        await connection.OpenAsync();
        await using var command = new MySqlCommand($"SHOW GLOBAL STATUS LIKE '{variable}'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? reader.GetString(1) : "";
    }

    /// <summary>Waits until every node is Synced in a cluster of three, for at most <paramref name="limit"/>.</summary>
    public async Task WaitUntilWholeAsync(TimeSpan limit)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var sizes = await Task.WhenAll(Enumerable.Range(1, 3).Select(node => StatusAsync(node, "wsrep_cluster_size")));
                var states = await Task.WhenAll(Enumerable.Range(1, 3).Select(node => StatusAsync(node, "wsrep_local_state_comment")));
                if (sizes.All(size => size == "3") && states.All(state => state == "Synced"))
                {
                    return;
                }
            }
            catch (MySqlException) when (waited.Elapsed < limit)
            {
            }
            if (waited.Elapsed > limit)
            {
                throw new TimeoutException($"The cluster was not whole again within {limit.TotalSeconds:0} s.");
            }
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(["stop", _directory]);
        }
        finally
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open; the temporary directory is cleaned by the system.
            }
        }
    }

    private static string ConnectionString(int port, string database) => new MySqlConnectionStringBuilder
    {
        Server = "127.0.0.1",
        Port = (uint)port,
        UserID = "root",
        Password = "",
        Database = database,
    }.ConnectionString;

    private async Task RunAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(_script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start bash.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"eng/galera.sh {string.Join(' ', start.ArgumentList.Skip(1))} failed ({process.ExitCode}): {await output}{await error}");
        }
    }

    // eng/galera.sh of the checkout the tests were built from.
    private static string FindScript()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var script = Path.Combine(directory.FullName, "eng", "galera.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }
        throw new InvalidOperationException("eng/galera.sh was not found above the test assembly's directory.");
    }

    // Free now, and distinct: each listener stays open until all are taken.
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(listener => listener.Start());
            return [.. listeners.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(listener => listener.Stop());
        }
    }
}
