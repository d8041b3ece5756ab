using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>The API as its own process, as it is deployed, so that a test can kill it outright (SIGKILL).</summary>
public sealed class ApiProcess : IDisposable
{
    private readonly Process _process;

    private ApiProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<ApiProcess> StartAsync(string connectionString, string openAIConnectionString)
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
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var api = new ApiProcess(process, new Uri($"http://127.0.0.1:{port}/"));

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
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The API process exited with {process.ExitCode} before it was healthy.");
            }
            await Task.Delay(100, timeout.Token);
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
