using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MySqlConnector;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// A private MariaDB or MySQL server for the tests: its own data directory, a free loopback port, root without a
/// password. It can be stopped and started again on the same port and data, to test what a database outage does.
/// </summary>
public sealed class MySqlServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);


    private readonly string _serverBinary;
    private readonly bool _isMariaDb;
    private readonly string _directory;
    private Process? _process;

    private MySqlServer(string serverBinary, string directory, int port)
    {
        _serverBinary = serverBinary;
        _isMariaDb = Path.GetFileName(serverBinary).StartsWith("mariadb", StringComparison.Ordinal)
            || RunToEnd(serverBinary, "--version").Contains("MariaDB", StringComparison.OrdinalIgnoreCase);
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>The server's connection string with no database, or with <paramref name="database"/>.</summary>
    public string ConnectionString(string? database = null) => new MySqlConnectionStringBuilder
    {
        Server = "127.0.0.1",
        Port = (uint)Port,
        UserID = "root",
        Password = "",
        Database = database ?? "",
    }.ConnectionString;

    public static async Task<MySqlServer> StartAsync()
    {
        var binary = FindServerBinary();
        var directory = Path.Combine(Path.GetTempPath(), "chatbackend-tests", Guid.NewGuid().ToString("n")[..12]);
        Directory.CreateDirectory(directory);
        var server = new MySqlServer(binary, directory, FreePort());
        await server.InitializeDataDirectoryAsync();
        await server.StartAgainAsync();
        return server;
    }

    private static string FindServerBinary()
    {
        var configured = Environment.GetEnvironmentVariable("CHATBACKEND_TEST_MYSQLD");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"]);
        foreach (var directory in path)
        {
            foreach (var name in new[] { "mariadbd", "mysqld" })
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        throw new InvalidOperationException(
            "No MariaDB or MySQL server binary (mariadbd or mysqld) was found on PATH or in /usr/sbin. " +
            "Run ./test.sh, which installs one, or set CHATBACKEND_TEST_MYSQLD to its path.");
    }

    private async Task InitializeDataDirectoryAsync()
    {
        if (_isMariaDb)
        {
            var installDb = new[] { Path.GetDirectoryName(_serverBinary)!, "/usr/bin", "/usr/local/bin" }
                .Select(directory => Path.Combine(directory, "mariadb-install-db"))
                .FirstOrDefault(File.Exists) ?? "mariadb-install-db";
            // Its own temporary directory (passed on to the bootstrap server): two bootstraps sharing /tmp now and then
            // collide on a temporary table's name, and one fails.
            await RunAsync(installDb, [
                "--no-defaults", $"--datadir={DataDirectory}", "--auth-root-authentication-method=normal", "--skip-test-db",
                $"--tmpdir={Directory.CreateDirectory(Path.Combine(_directory, "tmp")).FullName}"]);
        }
        else
        {
            await RunAsync(_serverBinary, ["--no-defaults", "--initialize-insecure", $"--datadir={DataDirectory}", .. RunAsRoot()]);
        }
    }

    /// <summary>Starts the server process (again) on the same port and data directory, and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(_serverBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments =
        [
            "--no-defaults", $"--datadir={DataDirectory}", $"--port={Port}", "--bind-address=127.0.0.1",
            $"--socket={Path.Combine(_directory, "mysqld.sock")}", $"--pid-file={Path.Combine(_directory, "mysqld.pid")}",
            "--innodb-buffer-pool-size=256M", "--max-connections=500", "--character-set-server=utf8mb4",
            $"--log-error={Path.Combine(_directory, "error.log")}",
            // Its own temporary directory: servers sharing /tmp now and then delete each other's temporary tables.
            $"--tmpdir={Directory.CreateDirectory(Path.Combine(_directory, "tmp")).FullName}",
            .. _isMariaDb ? Array.Empty<string>() : ["--mysqlx=OFF"],
            .. RunAsRoot(),
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_serverBinary}.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The database server exited at start: {ErrorLogTail()}");
            }
            try
            {
                await using var connection = new MySqlConnection(ConnectionString() + ";Pooling=false;Connection Timeout=2");
                await connection.OpenAsync();
                return;
            }
            catch (MySqlException) when (waited.Elapsed < StartTimeout)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Shuts the server down cleanly and waits for its process to end.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }
        try
        {
            await using var connection = new MySqlConnection(ConnectionString() + ";Pooling=false;Connection Timeout=2");
            await connection.OpenAsync();
            await using var command = new MySqlCommand("SHUTDOWN", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (MySqlException)
        {
            // Already going down; the wait below decides.
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Creates an empty database with a fresh name and returns that name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid().ToString("n")[..10]}";
        await using var connection = new MySqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new MySqlCommand($"CREATE DATABASE `{name}` CHARACTER SET utf8mb4", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temporary directory is cleaned by the system.
        }
    }

    private static IEnumerable<string> RunAsRoot() => Environment.UserName == "root" ? ["--user=root"] : [];

    private string ErrorLogTail()
    {
        var log = Path.Combine(_directory, "error.log");
        return File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(15)) : "(no error log)";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RunToEnd(string file, string argument)
    {
        using var process = Process.Start(new ProcessStartInfo(file, argument) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit(10_000);
        return output;
    }

    private static async Task RunAsync(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed with exit code {process.ExitCode}: {await output}{await error}");
        }
    }
}
