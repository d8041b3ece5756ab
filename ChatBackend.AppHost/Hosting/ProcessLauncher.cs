using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Aspire.Hosting;

/// <summary>
/// Starts the resources' processes so that none outlives the AppHost: on Linux each child is started through
/// <c>setpriv --pdeathsig TERM</c>, so the kernel sends it SIGTERM when the AppHost dies, even by SIGKILL. The
/// signal follows the thread that started the child, so every child is started from one thread that lives as long
/// as the AppHost. Each child also gets its own session (<c>setsid</c>, which execs in place): a Ctrl+C in the
/// terminal then reaches the AppHost alone, which stops the children in order. Output goes, line by line, to the
/// resource's log.
/// </summary>
public sealed partial class ProcessLauncher : IDisposable
{
    private const int SigTerm = 15;

    private readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Started)> _requests = [];
    private readonly ResourceLoggerService _logs;
    private readonly string[] _wrapper;

    public ProcessLauncher(ResourceLoggerService logs)
    {
        _logs = logs;
        _wrapper = OperatingSystem.IsLinux() && FindOnPath("setpriv") is { } setpriv
            ? FindOnPath("setsid") is { } setsid ? [setsid, setpriv, "--pdeathsig", "TERM", "--"] : [setpriv, "--pdeathsig", "TERM", "--"]
            : [];
        var thread = new Thread(StartRequested) { IsBackground = true, Name = "Resource process launcher" };
        thread.Start();
    }

    /// <summary>Starts <paramref name="fileName"/> for <paramref name="resourceName"/>, its output in the resource's log.</summary>
    public Task<Process> StartAsync(
        string resourceName, string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string?> environment, IEnumerable<string>? removeFromEnvironment = null)
    {
        var start = new ProcessStartInfo
        {
            FileName = _wrapper.Length > 0 ? _wrapper[0] : fileName,
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (_wrapper.Length > 0)
        {
            foreach (var argument in _wrapper.Skip(1).Append(fileName))
            {
                start.ArgumentList.Add(argument);
            }
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in removeFromEnvironment ?? [])
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add((start, started));
        return started.Task.ContinueWith(task =>
        {
            var process = task.Result;
            process.OutputDataReceived += (_, line) => Write(resourceName, line.Data, isError: false);
            process.ErrorDataReceived += (_, line) => Write(resourceName, line.Data, isError: true);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return process;
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>SIGTERM, as Ctrl+C would; after <paramref name="grace"/>, SIGKILL.</summary>
    public static async Task StopAsync(Process process, TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }
        if (OperatingSystem.IsWindows() || Kill(process.Id, SigTerm) != 0)
        {
            process.Kill(entireProcessTree: true);
        }
        try
        {
            await process.WaitForExitAsync().WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public static string? FindOnPath(string name, IEnumerable<string>? extraDirectories = null)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(extraDirectories ?? []);
        return directories.Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists);
    }

    private void Write(string resourceName, string? line, bool isError)
    {
        if (line is not null)
        {
            _logs.Write(resourceName, line, isError);
        }
    }

    private void StartRequested()
    {
        foreach (var (start, started) in _requests.GetConsumingEnumerable())
        {
            try
            {
                started.SetResult(Process.Start(start)!);
            }
            catch (Exception exception)
            {
                started.SetException(exception);
            }
        }
    }

    public void Dispose() => _requests.CompleteAdding();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
