using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// The API as its own process, as it is deployed, so that a test can kill it outright (SIGKILL) or stop it as a
/// container platform does (SIGTERM) and see how it exits.
/// </summary>
public sealed class ApiProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ApiProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>What the process printed, both streams, in order.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    public static async Task<ApiProcess> StartAsync(
        string connectionString, string openAIConnectionString, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        var assembly = typeof(ChatBackend.ApiService.Chat.ChatTurnService).Assembly.Location;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        start.Environment["ConnectionStrings__chatdb"] = connectionString;
        start.Environment["ConnectionStrings__openai"] = openAIConnectionString;
        start.Environment["Chat__RetryDelay"] = "00:00:00.010";
        start.Environment["Chat__AutoTitle"] = "false";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var process = Process.Start(start)!;
        var api = new ApiProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, line) => api.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => api.Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var client = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            try
            {
                using var health = await client.GetAsync("/health", timeout.Token);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return api;
                }
            }
            catch (HttpRequestException) when (!process.HasExited)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!process.HasExited && !timeout.IsCancellationRequested)
            {
                // Listening, but its first answer took longer than a poll waits (a machine loaded by other builds).
            }
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The API process exited with {process.ExitCode} before it was healthy.");
            }
            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>SIGTERM, as a container platform stops a process: the exit code once it has ended.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    /// <summary>SIGKILL: no shutdown, no last write.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
