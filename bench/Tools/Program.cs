using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Server;

// The tools scenario: what ChatBackend adds to a turn per tool round, beyond the model's and the tool's own time.
//   servers MODEL_PORT MCP_PORT     a fake OpenAI-compatible model that calls the tool `add` when it is offered tools and
//                                   the last message is not a tool's result (else it answers), and an MCP server with `add`
//   measure API_URL MODEL_URL MCP_URL COUNT
//                                   the model's and the tool's own latency (called directly), then sends with and without
//                                   the tool (one round), one at a time and 100 at once: p50 and p99 of each, and
//                                   added = with - without - model - tool, per percentile
var culture = CultureInfo.InvariantCulture;
switch (args)
{
    case ["servers", var modelPort, var mcpPort]:
        await Task.WhenAll(RunModelAsync(int.Parse(modelPort, culture)), RunMcpAsync(int.Parse(mcpPort, culture)));
        return 0;
    case ["measure", var api, var model, var mcp, var countText]:
        await MeasureAsync(new Uri(api), new Uri(model), new Uri(mcp), int.Parse(countText, culture));
        return 0;
    default:
        Console.Error.WriteLine("usage: servers MODEL_PORT MCP_PORT | measure API_URL MODEL_URL MCP_URL COUNT");
        return 2;
}

static async Task RunModelAsync(int port)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
    builder.Logging.ClearProviders();
    var app = builder.Build();
    app.MapPost("/v1/chat/completions", async (HttpRequest request) =>
    {
        var body = (await JsonNode.ParseAsync(request.Body))!;
        var last = body["messages"]!.AsArray()[^1]!["role"]!.GetValue<string>();
        JsonObject message = body["tools"] is not null && last != "tool"
            ? new()
            {
                ["role"] = "assistant",
                ["content"] = null,
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = $"call_{Guid.NewGuid():n}",
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = "add", ["arguments"] = """{"a":1,"b":2}""" },
                }),
            }
            : new() { ["role"] = "assistant", ["content"] = "The answer." };
        return Results.Json(new JsonObject
        {
            ["id"] = "chatcmpl-bench",
            ["object"] = "chat.completion",
            ["created"] = 1_700_000_000,
            ["model"] = "gpt-4o-mini",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["finish_reason"] = message["tool_calls"] is null ? "stop" : "tool_calls",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 20, ["completion_tokens"] = 7, ["total_tokens"] = 27 },
        });
    });
    await app.RunAsync();
}

static async Task RunMcpAsync(int port)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
    builder.Logging.ClearProviders();
    builder.Services.AddMcpServer().WithHttpTransport().WithTools<BenchTools>();
    var app = builder.Build();
    app.MapMcp("/mcp");
    await app.RunAsync();
}

static async Task MeasureAsync(Uri api, Uri model, Uri mcp, int count)
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = TimeSpan.FromMinutes(2) };
    var body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""";
    var modelTimes = await TimeEachAsync(count, 1, async _ =>
    {
        using var response = await http.PostAsync(new Uri(model, "/v1/chat/completions"), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    });
    await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions { Endpoint = mcp }));
    var arguments = new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 };
    var toolTimes = await TimeEachAsync(count, 1, async _ => await client.CallToolAsync("add", arguments));

    var user = 700_000;
    Task Send(bool tools) => SendAsync(http, api, Interlocked.Increment(ref user), tools);
    var lines = new List<string>();
    foreach (var concurrency in new[] { 1, 100 })
    {
        var sends = concurrency == 1 ? count : count * 5;
        await TimeEachAsync(Math.Min(sends, 200), concurrency, _ => Send(true));  // warm-up: code, pools, the tool list
        var plain = await TimeEachAsync(sends, concurrency, _ => Send(false));
        var withTool = await TimeEachAsync(sends, concurrency, _ => Send(true));
        foreach (var (name, at) in new[] { ("p50", 0.50), ("p99", 0.99) })
        {
            var added = Percentile(withTool, at) - Percentile(plain, at) - Percentile(modelTimes, at) - Percentile(toolTimes, at);
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"c{concurrency}_{name}_added_ms={added:0.00} c{concurrency}_{name}_with_ms={Percentile(withTool, at):0.00} c{concurrency}_{name}_without_ms={Percentile(plain, at):0.00}"));
        }
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT model_p50_ms={Percentile(modelTimes, 0.5):0.00} model_p99_ms={Percentile(modelTimes, 0.99):0.00} tool_p50_ms={Percentile(toolTimes, 0.5):0.00} tool_p99_ms={Percentile(toolTimes, 0.99):0.00} {string.Join(' ', lines)}"));
}

// A new conversation each, in the original's query-string form; with the tool, one round of it.
static async Task SendAsync(HttpClient http, Uri api, int user, bool tools)
{
    var uri = new Uri(api, $"/chat-message?message=What+is+1%2B2%3F&user_id={user}{(tools ? "&tools=bench" : "")}");
    using var response = await http.PostAsync(uri, content: null);
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"A send answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }
    if (tools && !(await response.Content.ReadAsStringAsync()).Contains("\"mcp_call\"", StringComparison.Ordinal))
    {
        throw new InvalidOperationException("A send with the tool ran no call.");
    }
}

// COUNT runs of the action, CONCURRENCY at a time: each one's milliseconds.
static async Task<List<double>> TimeEachAsync(int count, int concurrency, Func<int, Task> action)
{
    var times = new List<double>(count);
    var next = -1;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) < count)
        {
            var started = Stopwatch.GetTimestamp();
            await action(next);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            lock (times)
            {
                times.Add(elapsed);
            }
        }
    }));
    return times;
}

static double Percentile(List<double> times, double at)
{
    var sorted = times.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(at * sorted.Count) - 1)];
}

[McpServerToolType]
internal sealed class BenchTools
{
    [McpServerTool(Name = "add"), Description("Adds two whole numbers.")]
    public static int Add(int a, int b) => a + b;
}
