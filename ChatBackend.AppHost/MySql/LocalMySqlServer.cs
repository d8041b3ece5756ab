using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace ChatBackend.AppHost.MySql;

/// <summary>
/// A local <c>mariadbd</c> or <c>mysqld</c> that DCP runs: where to find it, its private data directory (kept across
/// runs under <c>${XDG_DATA_HOME:-~/.local/share}/ChatBackend/AppHost/{name}/</c>), its initialisation, and the file
/// that sets the root password to Aspire's <c>{name}-password</c> parameter at each start.
/// </summary>
internal sealed class LocalMySqlServer(string binary, string home)
{
    private static readonly string[] ServerNames = ["mariadbd", "mysqld"];
    private static readonly string[] ServerDirectories = ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"];

    public string Binary { get; } = binary;

    public string Home { get; } = home;

    public string DataDirectory => Path.Combine(Home, "data");

    public string InitFile => Path.Combine(Home, "init.sql");

    private string TemporaryDirectory => Path.Combine(Home, "tmp");

    /// <summary>The server's arguments: loopback only, its own socket and temporary directory, utf8mb4.</summary>
    public IEnumerable<string> Arguments()
    {
        yield return "--no-defaults";
        yield return $"--datadir={DataDirectory}";
        yield return "--bind-address=127.0.0.1";
        yield return $"--socket={Path.Combine(Home, "mysqld.sock")}";
        yield return $"--tmpdir={TemporaryDirectory}";
        yield return "--character-set-server=utf8mb4";
        yield return $"--init-file={InitFile}";
        if (IsRoot)
        {
            yield return "--user=root";
        }
    }

    /// <summary>Before each start: a data directory (made once), and the file that sets the root password.</summary>
    public async Task PrepareAsync(string password, Action<string> log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(TemporaryDirectory);
        if (!Directory.Exists(DataDirectory))
        {
            await InitializeAsync(log, cancellationToken);
        }
        var quoted = password.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
        WritePrivate(InitFile, $"ALTER USER 'root'@'localhost' IDENTIFIED BY '{quoted}';\n");
    }

    /// <summary>Once the server answers, the file that holds the password goes.</summary>
    public void PasswordSet() => File.Delete(InitFile);

    private async Task InitializeAsync(Action<string> log, CancellationToken cancellationToken)
    {
        // Into a fresh directory first, so that an interrupted initialisation is not mistaken for data next time.
        var fresh = DataDirectory + ".new";
        if (Directory.Exists(fresh))
        {
            Directory.Delete(fresh, recursive: true);
        }
        var isMariaDb = Path.GetFileName(Binary) == "mariadbd" || await IsMariaDbAsync(cancellationToken);
        var (tool, arguments) = isMariaDb
            ? (FindOnPath("mariadb-install-db", [Path.GetDirectoryName(Binary)!, "/usr/bin"])
                ?? throw new DistributedApplicationException("mariadb-install-db was not found beside the server or on PATH."),
               // Its own temporary directory: bootstraps sharing /tmp now and then collide on a temporary table's name.
               new List<string> { "--no-defaults", $"--datadir={fresh}", "--auth-root-authentication-method=normal", "--skip-test-db", $"--tmpdir={TemporaryDirectory}" })
            : (Binary, new List<string> { "--no-defaults", "--initialize-insecure", $"--datadir={fresh}" });
        if (IsRoot)
        {
            arguments.Add("--user=root");
        }
        log($"Initialising a new data directory in {DataDirectory} with {Path.GetFileName(tool)}.");
        var start = new ProcessStartInfo(tool) { WorkingDirectory = Home, RedirectStandardOutput = true, RedirectStandardError = true };
        arguments.ForEach(start.ArgumentList.Add);
        using var initialize = Process.Start(start)!;
        var output = initialize.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = initialize.StandardError.ReadToEndAsync(cancellationToken);
        await initialize.WaitForExitAsync(cancellationToken);
        if (initialize.ExitCode != 0)
        {
            throw new DistributedApplicationException(
                $"{Path.GetFileName(tool)} exited with code {initialize.ExitCode}: {(await errors).Trim()} {(await output).Trim()}");
        }
        Directory.Move(fresh, DataDirectory);
    }

    private async Task<bool> IsMariaDbAsync(CancellationToken cancellationToken)
    {
        using var version = Process.Start(new ProcessStartInfo(Binary, "--version") { RedirectStandardOutput = true })!;
        var text = await version.StandardOutput.ReadToEndAsync(cancellationToken);
        await version.WaitForExitAsync(cancellationToken);
        return text.Contains("MariaDB", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The server binary: <c>AppHost:MySqlServer</c> (a path, or <c>none</c>), else mariadbd or mysqld on PATH or in the
    /// usual sbin directories.
    /// </summary>
    public static string? FindBinary(IConfiguration configuration)
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
        return ServerNames.Select(name => FindOnPath(name, ServerDirectories)).FirstOrDefault(path => path is not null);
    }

    /// <summary>
    /// Where the data of a server with a data volume lives: <c>AppHost:DataDirectory</c>, else
    /// <c>${XDG_DATA_HOME:-~/.local/share}/ChatBackend/AppHost</c>.
    /// </summary>
    public static string DataRoot(IConfiguration configuration)
    {
        if (configuration["AppHost:DataDirectory"] is { Length: > 0 } configured)
        {
            return configured;
        }
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "ChatBackend", "AppHost");
    }

    /// <summary>A home for a server without a data volume: a temporary folder of this run.</summary>
    public static string TemporaryHome(string name) =>
        Path.Combine(Path.GetTempPath(), $"chatbackend-{name}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}");

    public static string? FindOnPath(string name, IEnumerable<string>? extraDirectories = null) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(extraDirectories ?? [])
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    private static bool IsRoot => Environment.UserName == "root";

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
}
