using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ChatBackend.Tests;

/// <summary>The AppHost as its own process, as a developer runs it: how it ends, and that its children end with it.</summary>
public sealed partial class AppHostProcessTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    private readonly string _data = Directory.CreateTempSubdirectory("chatbackend-apphost-process-").FullName;

    [Theory]
    [InlineData("TERM", false)]
    [InlineData("INT", true)] // Ctrl+C in a terminal: SIGINT to the whole foreground process group
    public async Task ASignalToStopEndsEveryChildCleanlyAndTheAppHostExitsZero(string signal, bool toProcessGroup)
    {
        using var appHost = await StartAppHostAsync();
        var children = Children(appHost.Process.Id);
        Assert.Equal(2, children.Count); // the database server and the API

        Assert.Equal(0, Signal(toProcessGroup ? -appHost.Process.Id : appHost.Process.Id, signal));
        await appHost.Process.WaitForExitAsync().WaitAsync(Bound);

        Assert.Equal(0, appHost.Process.ExitCode);
        Assert.All(children, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"Process {pid} outlived the AppHost."));
        Assert.Contains(appHost.Output, line => line.Contains("Shutdown complete", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhenTheAppHostIsKilledItsChildrenExitOnTheirOwnWithinTenSeconds()
    {
        using var appHost = await StartAppHostAsync();
        var children = Children(appHost.Process.Id);
        Assert.Equal(2, children.Count);

        Assert.Equal(0, Signal(appHost.Process.Id, "KILL"));

        var deadline = Stopwatch.StartNew();
        while (children.Any(pid => Directory.Exists($"/proc/{pid}")) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }
        Assert.All(children, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"Process {pid} still runs 10 s after its AppHost was killed."));
    }

    // Started from its build output, with its own data directory; returns once the API reports healthy.
    private async Task<RunningAppHost> StartAppHostAsync()
    {
        var appHostDll = new Projects.ChatBackend_AppHost().TargetPath;
        // In a session of its own, as in a terminal: its process group is its own, and Ctrl+C signals all of that group.
        var start = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = Path.GetDirectoryName(new Projects.ChatBackend_AppHost().ProjectPath)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "dotnet", appHostDll, $"--AppHost:DataDirectory={_data}", "--AppHost:RandomizePorts=true", "--AppHost:ContainerRuntime=none" })
        {
            start.ArgumentList.Add(argument);
        }
        var appHost = new RunningAppHost(Process.Start(start)!);
        var healthy = await appHost.WaitForLineAsync(line => ApiRunning().IsMatch(line)).WaitAsync(Bound);
        Assert.NotNull(healthy);
        return appHost;
    }

    // The children of a process, from /proc: the fourth field of /proc/PID/stat, after the name in parentheses.
    private static List<int> Children(int parent) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsDigit))
            .Select(name => (Pid: int.Parse(name!, System.Globalization.CultureInfo.InvariantCulture), Stat: ReadOrEmpty($"/proc/{name}/stat")))
            .Where(entry => entry.Stat.Length > 0 && ParentOf(entry.Stat) == parent)
            .Select(entry => entry.Pid)];

    private static int ParentOf(string stat) =>
        int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
    }

    // A negative pid signals its process group.
    private static int Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} -- {pid}");
        kill.WaitForExit();
        return kill.ExitCode;
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [GeneratedRegex(@"apiservice +Running at http://")]
    private static partial Regex ApiRunning();

    private sealed class RunningAppHost : IDisposable
    {
        private readonly List<string> _output = [];
        private readonly List<(Func<string, bool> Match, TaskCompletionSource<string?> Found)> _waiters = [];
        private readonly Lock _lock = new();

        public RunningAppHost(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, line) => Add(line.Data);
            process.ErrorDataReceived += (_, line) => Add(line.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.Exited += (_, _) => Add(null);
            process.EnableRaisingEvents = true;
        }

        public Process Process { get; }

        public IReadOnlyList<string> Output
        {
            get
            {
                lock (_lock)
                {
                    return [.. _output];
                }
            }
        }

        // The first line that matches, or null when the process ends first.
        public Task<string?> WaitForLineAsync(Func<string, bool> match)
        {
            lock (_lock)
            {
                var found = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_output.FirstOrDefault(match) is { } line)
                {
                    found.SetResult(line);
                }
                else if (Process.HasExited)
                {
                    found.SetResult(null);
                }
                else
                {
                    _waiters.Add((match, found));
                }
                return found.Task;
            }
        }

        private void Add(string? line)
        {
            lock (_lock)
            {
                if (line is not null)
                {
                    _output.Add(line);
                }
                foreach (var waiter in _waiters.Where(w => line is null || w.Match(line)).ToList())
                {
                    waiter.Found.TrySetResult(line);
                    _waiters.Remove(waiter);
                }
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }
            Process.Dispose();
        }
    }
}
