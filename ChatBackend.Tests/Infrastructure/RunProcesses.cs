using System.Diagnostics;
using System.Globalization;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// The processes of an AppHost's run as /proc shows them (Linux): a root process (the AppHost, or the script that
/// starts it), its descendants, DCP (which runs in a session of its own and names a process it watches in
/// <c>--monitor PID</c>) and DCP's descendants.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class RunProcesses
{
    /// <summary>The root and every process of its run, as they stand now.</summary>
    public static List<int> Of(int root)
    {
        var table = Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => int.Parse(name!, CultureInfo.InvariantCulture))
            .Select(pid => (Pid: pid, Parent: ParentOf(pid), Command: Command(pid)))
            .Where(process => process.Parent is not null)
            .ToList();
        var family = new HashSet<int> { root };
        for (var added = true; added;)
        {
            var joined = table.Where(process => !family.Contains(process.Pid)
                    && (family.Contains(process.Parent!.Value) || family.Any(member => process.Command.Contains($"--monitor {member} ", StringComparison.Ordinal))))
                .Select(process => process.Pid).ToList();
            family.UnionWith(joined);
            added = joined.Count > 0;
        }
        return [.. family];
    }

    /// <summary>
    /// Where the API process of the run listens (DCP gives it a random port) once its /health answers 200; null when
    /// the root ends first.
    /// </summary>
    public static async Task<Uri?> WaitForApiAsync(Process root)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (!root.HasExited)
        {
            var api = Of(root.Id).FirstOrDefault(pid => Command(pid).Contains("ChatBackend.ApiService/bin", StringComparison.Ordinal));
            var urls = api == 0 ? null : Read($"/proc/{api}/environ").Split('\0')
                .FirstOrDefault(entry => entry.StartsWith("ASPNETCORE_URLS=", StringComparison.Ordinal))?["ASPNETCORE_URLS=".Length..];
            if (urls is not null)
            {
                var url = new Uri(urls.Split(';')[0]);
                try
                {
                    using var health = await client.GetAsync(new Uri(url, "/health"));
                    if (health.StatusCode == System.Net.HttpStatusCode.OK)
                    {
                        return url;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
            }
            await Task.Delay(250);
        }
        return null;
    }

    /// <summary>Kills whatever of the run a failed test left running.</summary>
    public static void Kill(int root)
    {
        foreach (var pid in Of(root))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
            {
                // Gone already.
            }
        }
    }

    /// <summary>A process that ended but is not yet reaped (a zombie, state Z) runs no more.</summary>
    public static bool IsRunning(int pid) => Read($"/proc/{pid}/stat") is { Length: > 0 } stat && stat[stat.LastIndexOf(')') + 2] != 'Z';

    public static string Command(int pid) => Read($"/proc/{pid}/cmdline").Replace('\0', ' ');

    /// <summary>kill -SIGNAL; a negative pid signals its process group. The exit code of kill.</summary>
    public static int Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} -- {pid}");
        kill.WaitForExit();
        return kill.ExitCode;
    }

    // The fourth field of /proc/PID/stat, counted after the name in parentheses.
    private static int? ParentOf(int pid)
    {
        var stat = Read($"/proc/{pid}/stat");
        return stat.Length == 0 ? null
            : int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
    }

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
