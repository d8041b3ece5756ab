using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using MySqlConnector;

namespace Aspire.Hosting;

/// <summary>A MySQL server the AppHost runs (or found), what to do once it answers, and how to stop it.</summary>
public sealed class RunningMySqlServer(string description, Process? process, Func<Task> stop, Action? ready = null)
{
    public string Description { get; } = description;

    /// <summary>The server's own process (a local binary), or the container's log follower; none for an existing server.</summary>
    public Process? Process { get; } = process;

    /// <summary>Called once the server accepts connections.</summary>
    public void Ready() => ready?.Invoke();

    public Task StopAsync() => stop();
}

/// <summary>Thrown when a resource cannot start; its message is the one line the AppHost prints.</summary>
public sealed class ResourceStartException(string message) : Exception(message);

/// <summary>
/// Brings up a MySQL server resource, in this order: an existing server given as <c>ConnectionStrings:{database}</c>
/// in the AppHost's configuration (an explicit choice wins); a container, when a docker or podman CLI answers (the
/// image, port and environment of Aspire.Hosting.MySql); a local <c>mysqld</c> or <c>mariadbd</c> in a private data
/// directory under the user's local application data, kept across runs like a data volume. Otherwise it stops with
/// one message that names these three ways.
/// </summary>
public sealed class MySqlServerLauncher(IConfiguration configuration, ProcessLauncher launcher, ResourceLoggerService logs)
{
    private static readonly string[] ServerNames = ["mariadbd", "mysqld"];
    private static readonly string[] ServerDirectories = ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"];
    private static readonly TimeSpan StopGrace = TimeSpan.FromMinutes(1);

    public async Task<RunningMySqlServer> StartAsync(MySqlServerResource server, CancellationToken cancellationToken)
    {
        if (server.ConfiguredConnectionString(configuration) is { } existing)
        {
            server.ExistingConnectionString = existing;
            return new RunningMySqlServer("an existing server (ConnectionStrings in the AppHost's configuration)", null, () => Task.CompletedTask);
        }
        if (await FindContainerRuntimeAsync(cancellationToken) is { } runtime)
        {
            return await StartContainerAsync(server, runtime, cancellationToken);
        }
        if (FindServerBinary() is { } binary)
        {
            return await StartLocalAsync(server, binary, cancellationToken);
        }
        var database = server.Databases.FirstOrDefault()?.Name ?? server.Name;
        throw new ResourceStartException(
            $"MySQL cannot start: no container runtime answered (docker or podman), no mysqld or mariadbd was found on PATH " +
            $"or in {string.Join(", ", ServerDirectories)}, and ConnectionStrings:{database} is not set in the AppHost's configuration. " +
            $"Install a server (sudo apt-get install mariadb-server), start Docker or Podman, or point the AppHost at an existing server: " +
            $"dotnet user-secrets --project ChatBackend.AppHost set ConnectionStrings:{database} \"Server=HOST;Port=3306;User ID=USER;Password=PASSWORD;Database={database}\"");
    }

    /// <summary>Polls the server until it answers, then creates the databases (CREATE DATABASE IF NOT EXISTS).</summary>
    public static async Task WaitUntilReadyAsync(MySqlServerResource server, Process? process, CancellationToken cancellationToken)
    {
        var connectionString = new MySqlConnectionStringBuilder(server.ConnectionString!) { Pooling = false, ConnectionTimeout = 5 }.ConnectionString;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process is { HasExited: true })
            {
                throw new ResourceStartException($"The server exited with code {process.ExitCode} before it accepted connections; its log says why.");
            }
            try
            {
                await using var connection = new MySqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken);
                foreach (var database in server.Databases)
                {
                    var name = database.ConnectionString is { } full ? new MySqlConnectionStringBuilder(full).Database : database.DatabaseName;
                    await using var create = new MySqlCommand($"CREATE DATABASE IF NOT EXISTS {Quote(name)}", connection);
                    await create.ExecuteNonQueryAsync(cancellationToken);
                }
                return;
            }
            catch (MySqlException) when (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private static string Quote(string identifier) => $"`{identifier.Replace("`", "``", StringComparison.Ordinal)}`";

    private async Task<string?> FindContainerRuntimeAsync(CancellationToken cancellationToken)
    {
        var configured = configuration["AppHost:ContainerRuntime"] ?? configuration["ASPIRE_CONTAINER_RUNTIME"];
        if (string.Equals(configured, "none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        foreach (var runtime in configured is null ? ["docker", "podman"] : new[] { configured })
        {
            if (ProcessLauncher.FindOnPath(runtime) is { } path && await AnswersAsync(path, cancellationToken))
            {
                return path;
            }
        }
        return null;
    }

    // A CLI without its engine (the docker CLI with no daemon) fails `info`: that is no runtime.
    private static async Task<bool> AnswersAsync(string runtime, CancellationToken cancellationToken)
    {
        using var info = Process.Start(new ProcessStartInfo(runtime, "info")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            await info.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            return info.ExitCode == 0;
        }
        catch (TimeoutException)
        {
            info.Kill(entireProcessTree: true);
            return false;
        }
    }

    private string? FindServerBinary()
    {
        var configured = configuration["AppHost:MySqlServer"];
        if (string.Equals(configured, "none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (configured is not null)
        {
            return File.Exists(configured) ? configured : null;
        }
        return ServerNames.Select(name => ProcessLauncher.FindOnPath(name, ServerDirectories)).FirstOrDefault(path => path is not null);
    }

    private async Task<RunningMySqlServer> StartContainerAsync(MySqlServerResource server, string runtime, CancellationToken cancellationToken)
    {
        var home = Home(server);
        server.Password = Password(server, home);
        server.Port ??= FreePort(); // a restart from the dashboard keeps the port the services were given
        var container = $"{server.Name}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}";
        List<string> run = ["run", "--detach", "--rm", "--name", container, "--env", "MYSQL_ROOT_PASSWORD",
            "--publish", $"127.0.0.1:{server.Port}:{MySqlServerResource.TargetPort}"];
        if (server.HasDataVolume)
        {
            run.AddRange(["--volume", $"{ManifestPublisher.VolumeName(server)}:/var/lib/mysql"]);
        }
        run.Add($"{MySqlServerResource.Image}:{MySqlServerResource.Tag}");
        // The password travels in the environment, not on a command line that any process list shows.
        var environment = new Dictionary<string, string?> { ["MYSQL_ROOT_PASSWORD"] = server.Password };
        using (var started = await launcher.StartAsync(server.Name, runtime, run, home, environment))
        {
            await started.WaitForExitAsync(cancellationToken);
            if (started.ExitCode != 0)
            {
                throw new ResourceStartException($"{Path.GetFileName(runtime)} run exited with code {started.ExitCode}; the log above says why.");
            }
        }
        var follower = await launcher.StartAsync(server.Name, runtime, ["logs", "--follow", container], home, new Dictionary<string, string?>());
        return new RunningMySqlServer($"a {Path.GetFileName(runtime)} container ({MySqlServerResource.Image}:{MySqlServerResource.Tag})", follower, async () =>
        {
            using var stop = await launcher.StartAsync(server.Name, runtime, ["stop", container], home, new Dictionary<string, string?>());
            await stop.WaitForExitAsync();
            await ProcessLauncher.StopAsync(follower, TimeSpan.FromSeconds(5));
        });
    }

    private async Task<RunningMySqlServer> StartLocalAsync(MySqlServerResource server, string binary, CancellationToken cancellationToken)
    {
        var home = Home(server);
        var dataDirectory = Path.Combine(home, "data");
        var temporary = Path.Combine(home, "tmp");
        Directory.CreateDirectory(temporary);
        server.Password = Password(server, home);
        server.Port ??= FreePort(); // a restart from the dashboard keeps the port the services were given

        string? initFile = null;
        if (!Directory.Exists(dataDirectory))
        {
            await InitializeAsync(server, binary, dataDirectory, cancellationToken);
            // The first start sets the root password; the file goes once the server is up.
            initFile = Path.Combine(home, "init.sql");
            WritePrivate(initFile, $"ALTER USER 'root'@'localhost' IDENTIFIED BY '{server.Password}';\n");
        }

        List<string> arguments = [
            "--no-defaults", $"--datadir={dataDirectory}", $"--port={server.Port}", "--bind-address=127.0.0.1",
            $"--socket={Path.Combine(home, "mysqld.sock")}", "--character-set-server=utf8mb4", $"--tmpdir={temporary}"];
        if (initFile is not null)
        {
            arguments.Add($"--init-file={initFile}");
        }
        if (Environment.UserName == "root")
        {
            arguments.Add("--user=root");
        }
        var process = await launcher.StartAsync(server.Name, binary, arguments, home, new Dictionary<string, string?>());
        return new RunningMySqlServer($"{binary} (data in {dataDirectory})", process,
            async () =>
            {
                // SIGTERM is a clean shutdown: the next start needs no crash recovery.
                await ProcessLauncher.StopAsync(process, StopGrace);
                if (!server.HasDataVolume)
                {
                    Directory.Delete(home, recursive: true);
                }
            },
            // The password is set: the file that set it goes.
            ready: initFile is null ? null : () => File.Delete(initFile));
    }

    private async Task InitializeAsync(MySqlServerResource server, string binary, string dataDirectory, CancellationToken cancellationToken)
    {
        // Into a fresh directory first, so that an interrupted initialisation is not mistaken for data next time.
        var fresh = dataDirectory + ".new";
        if (Directory.Exists(fresh))
        {
            Directory.Delete(fresh, recursive: true);
        }
        var isMariaDb = Path.GetFileName(binary) == "mariadbd" || await IsMariaDbAsync(binary, cancellationToken);
        var (tool, arguments) = isMariaDb
            ? (ProcessLauncher.FindOnPath("mariadb-install-db", [Path.GetDirectoryName(binary)!, "/usr/bin"])
                ?? throw new ResourceStartException("mariadb-install-db was not found beside the server or on PATH."),
               // Its own temporary directory (passed on to the bootstrap server): bootstraps sharing /tmp now and then
               // collide on a temporary table's name.
               new List<string> { "--no-defaults", $"--datadir={fresh}", "--auth-root-authentication-method=normal", "--skip-test-db",
                   $"--tmpdir={Path.Combine(Path.GetDirectoryName(dataDirectory)!, "tmp")}" })
            : (binary, new List<string> { "--no-defaults", "--initialize-insecure", $"--datadir={fresh}" });
        if (Environment.UserName == "root")
        {
            arguments.Add("--user=root");
        }
        logs.Write(server.Name, $"Initialising a new data directory with {Path.GetFileName(tool)}.", isError: false);
        using var initialize = await launcher.StartAsync(server.Name, tool, arguments, Path.GetDirectoryName(dataDirectory)!, new Dictionary<string, string?>());
        await initialize.WaitForExitAsync(cancellationToken);
        if (initialize.ExitCode != 0)
        {
            throw new ResourceStartException($"{Path.GetFileName(tool)} exited with code {initialize.ExitCode}; the log above says why.");
        }
        Directory.Move(fresh, dataDirectory);
    }

    private static async Task<bool> IsMariaDbAsync(string binary, CancellationToken cancellationToken)
    {
        using var version = Process.Start(new ProcessStartInfo(binary, "--version") { RedirectStandardOutput = true })!;
        var text = await version.StandardOutput.ReadToEndAsync(cancellationToken);
        await version.WaitForExitAsync(cancellationToken);
        return text.Contains("MariaDB", StringComparison.OrdinalIgnoreCase);
    }

    // With a data volume: a folder under the user's local application data, kept across runs. Without: a
    // temporary one, removed at stop.
    private string Home(MySqlServerResource server)
    {
        var home = server.HasDataVolume
            ? Path.Combine(AppHostData.Root(configuration), server.Name)
            : Path.Combine(Path.GetTempPath(), $"chatbackend-{server.Name}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}");
        Directory.CreateDirectory(home);
        return home;
    }

    // Aspire's generated {name}-password parameter: from configuration when set there, else generated once and kept
    // beside the data it opens (so that the two cannot drift apart).
    private string Password(MySqlServerResource server, string home)
    {
        if (configuration[$"Parameters:{server.Name}-password"] is { Length: > 0 } configured)
        {
            return configured;
        }
        var file = Path.Combine(home, "password");
        if (File.Exists(file))
        {
            return File.ReadAllText(file).Trim();
        }
        // 22 characters of 63 (about 131 bits), none that needs quoting in SQL or a connection string.
        var password = RandomNumberGenerator.GetString("abcdefghijkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ0123456789-_.~+*", 22);
        WritePrivate(file, password);
        return password;
    }

    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
