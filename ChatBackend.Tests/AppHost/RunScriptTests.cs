using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.AppHost;

/// <summary>
/// <c>./run.sh</c> as a user runs it, in a terminal session of its own: Ctrl+C gives the prompt back only once every
/// process of the run has ended, and a second run started at once comes up healthy and chats.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // /proc and signals
[Trait("Category", "AppHost")]
[Collection(RunsAlone.Name)]
public sealed class RunScriptTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("chatbackend-run-sh-").FullName;

    [Fact]
    public async Task CtrlCReturnsOnlyWhenEveryProcessOfTheRunHasEndedAndASecondRunStartsAtOnce()
    {
        // The same ports for both runs: the second takes over what the first let go of.
        string[] arguments = [$"--AppHost:DataDirectory={_data}", $"--Dashboard:Data:Directory={Path.Combine(_data, "dashboard")}",
            "--AppHost:ContainerRuntime=none", "--DcpPublisher:RandomizePorts=true",
            $"--ASPNETCORE_URLS=http://localhost:{FreePort()}", $"--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:{FreePort()}",
            $"--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://localhost:{FreePort()}", $"--ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://localhost:{FreePort()}"];

        // The first start may build the solution (dotnet run).
        foreach (var (run, startBound) in new[] { (1, TimeSpan.FromMinutes(6)), (2, TimeSpan.FromMinutes(2)) })
        {
            using var script = RunScript.Start(arguments);
            var api = await script.WaitForApiAsync().WaitAsync(startBound, TestContext.Current.CancellationToken);
            if (run == 2)
            {
                using var client = new HttpClient { BaseAddress = api };
                await client.SendOkAsync("Hello again", ChatCalls.NewUserId());
            }
            var processes = script.Family();
            var commands = processes.ToDictionary(pid => pid, RunProcesses.Command);
            Assert.Contains(commands.Values, command => command.Contains("mariadbd", StringComparison.Ordinal));
            Assert.Contains(commands.Values, command => command.Contains("/dcp", StringComparison.Ordinal));
            Assert.Contains(commands.Values, command => command.Contains("Aspire.Dashboard", StringComparison.Ordinal));

            Assert.Equal(0, RunProcesses.Signal(-script.Process.Id, "INT")); // Ctrl+C: SIGINT to the foreground process group
            try
            {
                await script.Process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"Run {run}: ./run.sh did not end within 2 minutes of Ctrl+C. Its last output:\n{script.OutputTail(40)}");
            }
            Assert.Equal(0, script.Process.ExitCode);
            await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
            var left = processes.Where(RunProcesses.IsRunning).Select(pid => $"{pid}: {commands[pid]}").ToList();
            Assert.True(left.Count == 0, $"Run {run}: 2 s after ./run.sh ended, these processes of the run still run:\n{string.Join('\n', left)}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);

    /// <summary>./run.sh in a session of its own, its output kept, and the processes of its run.</summary>
    private sealed class RunScript : IDisposable
    {
        private readonly List<string> _output = [];
        private readonly Lock _lock = new();

        private RunScript(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, line) => Add(line.Data);
            process.ErrorDataReceived += (_, line) => Add(line.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public static RunScript Start(IEnumerable<string> arguments)
        {
            var start = AppHostProcess.InATerminalSession(Path.GetFullPath(Path.Combine(AppHostProcess.Directory, "..")), "./run.sh");
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
            return new RunScript(Process.Start(start)!);
        }

        /// <summary>The script (which becomes <c>dotnet run</c>) and every process of its run.</summary>
        public List<int> Family() => RunProcesses.Of(Process.Id);

        // The API is up once its /health answers 200 at the address DCP gave its process.
        public async Task<Uri> WaitForApiAsync() => await RunProcesses.WaitForApiAsync(Process)
            ?? throw new InvalidOperationException("./run.sh ended before the API was healthy:\n" + OutputTail(60));

        public string OutputTail(int lines)
        {
            lock (_lock)
            {
                return string.Join('\n', _output.TakeLast(lines));
            }
        }

        private void Add(string? line)
        {
            if (line is not null)
            {
                lock (_lock)
                {
                    _output.Add(line);
                }
            }
        }

        // Whatever a failed test left running goes.
        public void Dispose()
        {
            RunProcesses.Kill(Process.Id);
            Process.Dispose();
        }
    }
}
