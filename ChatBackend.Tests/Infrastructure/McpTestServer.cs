using System.Collections.Concurrent;
using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// A real MCP server on a loopback port, made with ModelContextProtocol.AspNetCore (streamable HTTP at /mcp): tools
/// with arguments, one slow, one failing, one with a large output and one counting its calls; it keeps the headers it
/// was sent.
/// </summary>
public sealed class McpTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private McpTestServer(WebApplication app, McpTestState state)
    {
        _app = app;
        State = state;
    }

    public McpTestState State { get; }

    /// <summary>The MCP endpoint.</summary>
    public Uri Endpoint { get; private set; } = null!;

    public static async Task<McpTestServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var state = new McpTestState();
        builder.Services.AddSingleton(state);
        builder.Services.AddMcpServer().WithHttpTransport().WithTools<TestTools>();
        var app = builder.Build();
        app.Use((context, next) =>
        {
            foreach (var header in context.Request.Headers)
            {
                state.Headers[header.Key] = header.Value.ToString();
            }
            return next(context);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new McpTestServer(app, state) { Endpoint = new Uri(new Uri(address), "/mcp") };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [McpServerToolType]
    public sealed class TestTools
    {
        [McpServerTool(Name = "add"), Description("Adds two whole numbers.")]
        public static int Add(int a, int b) => a + b;

        [McpServerTool(Name = "count"), Description("Counts its calls; answers how many there were.")]
        public static string Count(McpTestState state) => $"call {Interlocked.Increment(ref state.CountCalls)}";

        [McpServerTool(Name = "slow"), Description("Answers after the given milliseconds.")]
        public static async Task<string> Slow(McpTestState state, int milliseconds, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref state.SlowStarted);
            state.SlowEntered.TrySetResult();
            await Task.Delay(milliseconds, cancellationToken);
            Interlocked.Increment(ref state.SlowFinished);
            return "slow done";
        }

        [McpServerTool(Name = "gate"), Description("Answers once the test opens its gate.")]
        public static async Task<string> Gate(McpTestState state, CancellationToken cancellationToken)
        {
            await state.Gate.Task.WaitAsync(cancellationToken);
            return "gate passed";
        }

        [McpServerTool(Name = "fail"), Description("Always fails.")]
        public static string Fail() => throw new McpException("the tool broke on purpose");

        [McpServerTool(Name = "large"), Description("Answers the given number of characters.")]
        public static string Large(int characters) => new('x', characters);
    }
}

/// <summary>What the test MCP server saw: calls counted, headers received.</summary>
public sealed class McpTestState
{
    public int CountCalls;
    public int SlowStarted;
    public int SlowFinished;
    public TaskCompletionSource SlowEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What the gate tool waits for: a test sets a new one, and completes it when the call may answer.</summary>
    public TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public ConcurrentDictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);
}
