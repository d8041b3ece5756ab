using System.Diagnostics;
using System.Globalization;
using System.Net;
using MySqlConnector;

// The burst scenario: many sends at once against a model that takes its time.
//   fake-model PORT DELAY_MS              an OpenAI-compatible /v1/chat/completions that answers after DELAY_MS
//   burst API_URL COUNT CONNECTION_STRING COUNT sends at the same instant; wall time, statuses, latencies, and the
//                                         peak of database connections (open, and running a statement)
var culture = CultureInfo.InvariantCulture;
switch (args)
{
    case ["fake-model", var portText, var delayText]:
        await RunFakeModelAsync(int.Parse(portText, culture), TimeSpan.FromMilliseconds(int.Parse(delayText, culture)));
        return 0;
    case ["burst", var url, var countText, var connectionString]:
        await RunBurstAsync(new Uri(url), int.Parse(countText, culture), connectionString);
        return 0;
    default:
        Console.Error.WriteLine("usage: fake-model PORT DELAY_MS | burst API_URL COUNT CONNECTION_STRING");
        return 2;
}

static async Task RunFakeModelAsync(int port, TimeSpan delay)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
    builder.Logging.ClearProviders();
    var app = builder.Build();
    var reply = new
    {
        id = "chatcmpl-bench",
        @object = "chat.completion",
        created = 1_700_000_000,
        model = "gpt-4o-mini",
        choices = new[] { new { index = 0, message = new { role = "assistant", content = "A reply that took its time." }, finish_reason = "stop" } },
        usage = new { prompt_tokens = 20, completion_tokens = 7, total_tokens = 27 },
    };
    app.MapPost("/v1/chat/completions", async (CancellationToken cancellationToken) =>
    {
        await Task.Delay(delay, cancellationToken);
        return Results.Json(reply);
    });
    await app.RunAsync();
}

static async Task RunBurstAsync(Uri api, int count, string connectionString)
{
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
    {
        BaseAddress = api,
        Timeout = TimeSpan.FromMinutes(2),
    };
    // A warm-up of 3 rounds of 100 sends, so that the run measures a server in its steady state (code compiled
    // and optimised, pools and connections open) rather than its first seconds.
    for (var round = 0; round < 3; round++)
    {
        await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            using var warm = await client.PostAsync(SendUri(-1 - i), null);
            warm.EnsureSuccessStatusCode();
        }));
    }

    await using var monitor = new MySqlConnection(connectionString);
    await monitor.OpenAsync();
    await ExecuteAsync(monitor, "FLUSH STATUS");
    using var sampling = new CancellationTokenSource();
    var peakRunning = 0;
    var sampler = Task.Run(async () =>
    {
        while (!sampling.IsCancellationRequested)
        {
            // Connections running a statement now, other than this one.
            var running = Convert.ToInt32(await ScalarAsync(monitor,
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND ID <> CONNECTION_ID()"), CultureInfo.InvariantCulture);
            peakRunning = Math.Max(peakRunning, running);
            await Task.Delay(5);
        }
    });

    var start = new TaskCompletionSource();
    var latencies = new double[count];
    var statuses = new int[count];
    var sends = Enumerable.Range(0, count).Select(async i =>
    {
        await start.Task;
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await client.PostAsync(SendUri(i), null);
            statuses[i] = (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            statuses[i] = 0;
        }
        latencies[i] = watch.Elapsed.TotalMilliseconds;
    }).ToArray();
    var wall = Stopwatch.StartNew();
    start.SetResult();
    await Task.WhenAll(sends);
    wall.Stop();
    await sampling.CancelAsync();
    await sampler;

    // The server's own high-water mark of open connections since FLUSH STATUS, less the monitor's.
    var peakOpen = Convert.ToInt32(await ScalarAsync(monitor,
        "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'MAX_USED_CONNECTIONS'"), CultureInfo.InvariantCulture) - 1;
    Array.Sort(latencies);
    var ok = statuses.Count(status => status == (int)HttpStatusCode.OK);
    var others = string.Join(", ", statuses.Where(status => status != 200).GroupBy(status => status).Select(g => $"{g.Key}x{g.Count()}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT count={count} ok={ok} wall_ms={wall.Elapsed.TotalMilliseconds:F0} p50_ms={latencies[count / 2]:F0} " +
        $"p99_ms={latencies[(int)(count * 0.99)]:F0} max_ms={latencies[^1]:F0} peak_open_connections={peakOpen} " +
        $"peak_running_connections={peakRunning} others={(others.Length == 0 ? "none" : others)}"));
}

static string SendUri(int i) =>
    $"/chat-message?message=burst%20{i}&user_id={1_000_000 + i + 1_000}&message_id=&message_count=1&conversation_id=";

static async Task ExecuteAsync(MySqlConnection connection, string sql)
{
    await using var command = new MySqlCommand(sql, connection);
    await command.ExecuteNonQueryAsync();
}

static async Task<object?> ScalarAsync(MySqlConnection connection, string sql)
{
    await using var command = new MySqlCommand(sql, connection);
    return await command.ExecuteScalarAsync();
}
