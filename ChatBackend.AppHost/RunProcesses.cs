using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatBackend.AppHost;

/// <summary>
/// Every process of the run: DCP (<c>dcp start-apiserver --monitor {the AppHost's pid}</c>, in a session of its own) and
/// all it started (its controllers, the dashboard, the server, each project's <c>dotnet run</c> and the project).
/// </summary>
/// <remarks>
/// After Ctrl+C, Aspire's host returns once it has asked DCP to stop; DCP then stops the resources on its own, 10-20 s
/// more (a project's <c>dotnet run</c> ignores DCP's SIGINT and is killed about 6 s later). With
/// <c>DcpPublisher:WaitForResourceCleanup</c> (appsettings.json, as Aspire.Hosting.Testing sets it) the host waits for
/// the resources, but DCP's own processes still end a moment after it. So the AppHost notes the run's processes when
/// it starts to stop and returns only once they are gone: whoever waits for it (a terminal's prompt, a script, a test)
/// sees a run that is over.
/// </remarks>
internal static class RunProcesses
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Runs the application, then waits (at most a minute) until every process of the run has ended.</summary>
    public static void RunUntilItsProcessesEnd(this DistributedApplication app)
    {
        // Only as its own process: run by Aspire.Hosting.Testing, the AppHost's descendants are the test host's, every
        // server and process the other tests started among them.
        if (!OperatingSystem.IsLinux() || System.Reflection.Assembly.GetEntryAssembly() != typeof(RunProcesses).Assembly)
        {
            app.Run();
            return;
        }
        HashSet<(int Pid, long Started)>? processes = null;
        app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => processes = Family(Environment.ProcessId));
        try
        {
            app.Run();
        }
        catch (AggregateException failure) when (failure.InnerExceptions is [DistributedApplicationException cannotStart])
        {
            // A start that cannot be (no way to run MySQL, an image that cannot be had): its message alone, exit code 1,
            // not an unhandled exception's stack trace after it.
            Console.Error.WriteLine($"error: {cannotStart.Message}");
            Environment.ExitCode = 1;
        }

        var waited = Stopwatch.StartNew();
        while (processes is not null && waited.Elapsed < Bound)
        {
            // Children a process starts while the run stops are its too (DCP reaps and restarts nothing then, but
            // the set is cheap to extend).
            processes.UnionWith(Family(Environment.ProcessId, processes));
            processes.RemoveWhere(process => !IsRunning(process));
            if (processes.Count == 0)
            {
                return;
            }
            Thread.Sleep(100);
        }
        if (processes is { Count: > 0 })
        {
            Console.Error.WriteLine($"These processes of the run still run {Bound.TotalSeconds:0} s after it stopped: " +
                string.Join(", ", processes.Select(process => $"{process.Pid} ({Command(process.Pid)})")));
        }
    }

    // Our descendants, DCP's processes (they name us in --monitor) and their descendants, and the descendants of the
    // given processes. A process that ended but is not reaped yet (Z) runs no more.
    private static HashSet<(int Pid, long Started)> Family(int appHost, IEnumerable<(int Pid, long Started)>? known = null)
    {
        var table = Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => Stat(int.Parse(name!, CultureInfo.InvariantCulture)))
            .OfType<ProcessStat>()
            .ToList();
        var family = new HashSet<int>(known?.Select(process => process.Pid) ?? []) { appHost };
        family.UnionWith(table.Where(process => Command(process.Pid).Contains($"--monitor {appHost} ", StringComparison.Ordinal)).Select(process => process.Pid));
        for (var added = true; added;)
        {
            var children = table.Where(process => family.Contains(process.Parent) && !family.Contains(process.Pid)).Select(process => process.Pid).ToList();
            family.UnionWith(children);
            added = children.Count > 0;
        }
        return table.Where(process => process.Pid != appHost && family.Contains(process.Pid) && process.State != 'Z')
            .Select(process => (process.Pid, process.Started))
            .ToHashSet();
    }

    private static bool IsRunning((int Pid, long Started) process) =>
        Stat(process.Pid) is { State: not 'Z' } stat && stat.Started == process.Started;

    private sealed record ProcessStat(int Pid, char State, int Parent, long Started);

    // /proc/PID/stat: the fields after the name in parentheses are state (3), parent (4), ..., start time (22).
    private static ProcessStat? Stat(int pid)
    {
        var stat = Read($"/proc/{pid}/stat");
        if (stat.Length == 0)
        {
            return null;
        }
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return new ProcessStat(pid, fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    private static string Command(int pid) => Read($"/proc/{pid}/cmdline").Replace('\0', ' ');

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
