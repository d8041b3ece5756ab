using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Globalization;
using System.Text;
using System.Text.Json;

// Benches of streamed replies, against a fake OpenAI-compatible model on loopback that streams its reply slowly:
//   fake-model PORT TOKENS TOKENS_PER_SECOND   streams TOKENS pieces at that rate (plain answers at once)
//   throughput API_URL CONCURRENCY SECONDS     CONCURRENCY clients, each streaming new-conversation replies one after
//                                              another: completed streams/s and the p50/p99 of a whole stream
//   resume API_A API_B COUNT                   COUNT times: a stream on A, dropped after its first piece, resumed on B
//                                              with Last-Event-ID: the p50/p99 from the resume request to its next
//                                              piece of text, and that the text adds up
//   cancel API_A API_B COUNT                   COUNT times: a stream on A, cancelled through B after its first piece:
//                                              the p50/p99 of the cancel request, and that each ended Cancelled
//   hold API_URL N API_PID CONNECTION_STRING MODEL_PID [API_KEY]
//                                              N streams at once (started over a second), each to its end: the p50/p99
//                                              gap between pieces as the client sees them, the API's peak RSS and CPU,
//                                              the peak of database connections, and the mean CPU of the API, the fake
//                                              model and this client over the run (they share the machine's cores);
//                                              with API_KEY, through POST /v1/responses (stream: true) with that key
var culture = CultureInfo.InvariantCulture;
switch (args)
{
    case ["fake-model", var port, var tokens, var rate]:
        await RunFakeModelAsync(int.Parse(port, culture), int.Parse(tokens, culture), double.Parse(rate, culture));
        return 0;
    case ["throughput", var url, var concurrency, var seconds]:
        await RunThroughputAsync(new Uri(url), int.Parse(concurrency, culture), TimeSpan.FromSeconds(int.Parse(seconds, culture)));
        return 0;
    case ["resume", var a, var b, var count]:
        await RunResumeAsync(new Uri(a), new Uri(b), int.Parse(count, culture));
        return 0;
    case ["hold", var url, var count, var pid, var connectionString, var modelPid]:
        await RunHoldAsync(new Uri(url), int.Parse(count, culture), int.Parse(pid, culture), connectionString, int.Parse(modelPid, culture), Surface.Native);
        return 0;
    case ["hold", var url, var count, var pid, var connectionString, var modelPid, var apiKey]:
        await RunHoldAsync(new Uri(url), int.Parse(count, culture), int.Parse(pid, culture), connectionString, int.Parse(modelPid, culture),
            Surface.Responses(apiKey));
        return 0;
    case ["cancel", var a, var b, var count]:
        await RunCancelAsync(new Uri(a), new Uri(b), int.Parse(count, culture));
        return 0;
    default:
        Console.Error.WriteLine(
            "usage: fake-model PORT TOKENS TOKENS_PER_SECOND | throughput API_URL CONCURRENCY SECONDS | resume|cancel API_A API_B COUNT");
        return 2;
}

static async Task RunFakeModelAsync(int port, int tokens, double rate)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
    builder.Logging.ClearProviders();
    var app = builder.Build();
    var gap = TimeSpan.FromSeconds(1 / rate);
    // Every chunk's bytes made once: this server shares the machine's cores with the API it serves, and the streams
    // scenario streams 40,000 chunks a second from it; what it spends formatting them would be taken from the API
    // under test.
    var chunks = Enumerable.Range(0, tokens).Select(i => Chunk($"{{\"content\":\"tok{i} \"}}", "null")).ToArray();
    var end = Chunk("{}", "\"stop\"").Concat(Encoding.UTF8.GetBytes(
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[]," +
        $"\"usage\":{{\"prompt_tokens\":20,\"completion_tokens\":{tokens},\"total_tokens\":{20 + tokens}}}}}\n\ndata: [DONE]\n\n")).ToArray();
    app.MapPost("/v1/chat/completions", async (HttpContext context) =>
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var stream = body.RootElement.TryGetProperty("stream", out var flag) && flag.GetBoolean();
        var response = context.Response;
        if (!stream)
        {
            await response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-bench", @object = "chat.completion", created = 1_700_000_000, model = "gpt-4o-mini",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = "A plain reply." }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 20, completion_tokens = 3, total_tokens = 23 },
            });
            return;
        }
        response.ContentType = "text/event-stream";
        var aborted = context.RequestAborted;
        using var timer = new PeriodicTimer(gap);
        foreach (var chunk in chunks)
        {
            await response.BodyWriter.WriteAsync(chunk, aborted); // written and flushed
            await timer.WaitForNextTickAsync(aborted);
        }
        await response.BodyWriter.WriteAsync(end, aborted);
    });
    await app.RunAsync();

    static byte[] Chunk(string delta, string finishReason) => Encoding.UTF8.GetBytes(
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\"," +
        $"\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finishReason}}}]}}\n\n");
}

static HttpClient Client(Uri api) => new(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
{
    BaseAddress = api,
    Timeout = TimeSpan.FromMinutes(2),
};

static HttpRequestMessage StreamRequest(long user, string messageId) => Surface.Native.Request(user, messageId);

static async Task RunThroughputAsync(Uri api, int concurrency, TimeSpan duration)
{
    using var client = Client(api);
    var latencies = new List<double>[concurrency];
    var errors = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
    {
        var mine = latencies[worker] = [];
        for (var i = 0; clock.Elapsed < duration; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(StreamRequest(2_000_000 + worker, $"s-{worker}-{i}-{Guid.NewGuid():n}"),
                HttpCompletionOption.ResponseHeadersRead);
            var events = await ReadEventsAsync(response, stopAfterFirstText: false);
            if (events.Count == 0 || events[^1].Name != "done")
            {
                Interlocked.Increment(ref errors);
                continue;
            }
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    })));
    var elapsed = clock.Elapsed.TotalSeconds;
    var all = latencies.SelectMany(list => list).Order().ToArray();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT streams={all.Length} rps={all.Length / elapsed:0.0} p50_ms={Percentile(all, 50):0} p99_ms={Percentile(all, 99):0} errors={errors}"));
}

static async Task RunResumeAsync(Uri a, Uri b, int count)
{
    var mismatches = 0;
    await RunAcrossAsync(a, b, count, "resumes", async (clientA, clientB, i) =>
    {
        var user = 3_000_000 + i;
        var messageId = $"r-{i}-{Guid.NewGuid():n}";
        string conversationId, lastId, firstText;
        using (var first = await clientA.SendAsync(StreamRequest(user, messageId), HttpCompletionOption.ResponseHeadersRead))
        {
            var events = await ReadEventsAsync(first, stopAfterFirstText: true);
            conversationId = events[0].Data.GetProperty("conversation_id").GetString()!;
            lastId = events[^1].Id!;
            firstText = events[^1].Data.GetProperty("text").GetString()!;
        }
        var request = new HttpRequestMessage(HttpMethod.Get, $"/conversations/{conversationId}/messages/{messageId}/stream?user_id={user}");
        request.Headers.Add("Last-Event-ID", lastId);
        var started = Stopwatch.GetTimestamp();
        using var resumed = await clientB.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var rest = new StringBuilder();
        double? latency = null;
        await foreach (var item in EventsAsync(resumed))
        {
            if (item.Name == "delta")
            {
                latency ??= Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                rest.Append(item.Data.GetProperty("text").GetString());
            }
            if (item.Name is "done" or "error")
            {
                if (item.Name == "error" || latency is null)
                {
                    mismatches++;
                }
                break;
            }
        }
        using var history = await clientB.GetFromJsonAsync<JsonDocument>($"/get-conversation-history/{conversationId}");
        var stored = history!.RootElement.GetProperty("messages")[1].GetProperty("message").GetString();
        if (stored != firstText + rest)
        {
            mismatches++;
        }
        return latency ?? 0;
    }, () => $"mismatches={mismatches}");
}

static async Task RunCancelAsync(Uri a, Uri b, int count)
{
    var notCancelled = new List<string>();
    await RunAcrossAsync(a, b, count, "cancels", async (clientA, clientB, i) =>
    {
        var user = 4_000_000 + i;
        var messageId = $"c-{i}-{Guid.NewGuid():n}";
        using var stream = await clientA.SendAsync(StreamRequest(user, messageId), HttpCompletionOption.ResponseHeadersRead);
        var events = EventsAsync(stream).GetAsyncEnumerator();
        await events.MoveNextAsync();
        var conversationId = events.Current.Data.GetProperty("conversation_id").GetString();
        await events.MoveNextAsync();
        var started = Stopwatch.GetTimestamp();
        using var cancel = await clientB.PostAsJsonAsync("/chat-message/cancel",
            new { user_id = user, conversation_id = conversationId, message_id = messageId });
        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        using var answer = await cancel.Content.ReadFromJsonAsync<JsonDocument>();
        var status = cancel.IsSuccessStatusCode ? answer!.RootElement.GetProperty("status").GetString() : $"HTTP {(int)cancel.StatusCode}";
        if (status != "Cancelled")
        {
            notCancelled.Add(string.Create(CultureInfo.InvariantCulture, $"#{i}:{status}:{latency:0}ms"));
        }
        await events.DisposeAsync();
        return latency;
    }, () => $"not_cancelled={notCancelled.Count} {string.Join(' ', notCancelled)}");
}

// COUNT times, one after another, a step that starts a stream on instance A and acts on it through B, timing one
// request (the step's answer, in ms): the RESULT line with the p50, p99 and max of those times, then what went wrong.
static async Task RunAcrossAsync(
    Uri a, Uri b, int count, string counted, Func<HttpClient, HttpClient, int, Task<double>> step, Func<string> wrong)
{
    using var clientA = Client(a);
    using var clientB = Client(b);
    var latencies = new List<double>();
    for (var i = 0; i < count; i++)
    {
        latencies.Add(await step(clientA, clientB, i));
    }
    var sorted = latencies.Order().ToArray();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT {counted}={count} p50_ms={Percentile(sorted, 50):0} p99_ms={Percentile(sorted, 99):0} max_ms={sorted[^1]:0} {wrong()}"));
}

static async Task RunHoldAsync(Uri api, int count, int apiPid, string connectionString, int modelPid, Surface surface)
{
    const double TicksPerSecond = 100.0; // USER_HZ, the unit of /proc/PID/stat's CPU times
    using var client = Client(api);
    client.Timeout = TimeSpan.FromMinutes(5);
    await using var monitor = new MySqlConnector.MySqlConnection(connectionString);
    await monitor.OpenAsync();
    await using (var flush = new MySqlConnector.MySqlCommand("FLUSH STATUS", monitor))
    {
        await flush.ExecuteNonQueryAsync();
    }

    using var sampling = new CancellationTokenSource();
    long peakRss = 0;
    double peakCpu = 0;
    var sampler = Task.Run(async () =>
    {
        var (lastCpu, lastTime) = (CpuTicks(apiPid), Stopwatch.GetTimestamp());
        while (!sampling.IsCancellationRequested)
        {
            await Task.Delay(500);
            peakRss = Math.Max(peakRss, RssBytes(apiPid));
            var (cpu, time) = (CpuTicks(apiPid), Stopwatch.GetTimestamp());
            peakCpu = Math.Max(peakCpu, (cpu - lastCpu) / TicksPerSecond / Stopwatch.GetElapsedTime(lastTime, time).TotalSeconds * 100);
            (lastCpu, lastTime) = (cpu, time);
        }
    });

    var gaps = new List<double>[count];
    var failures = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
    void Failed(string reason) => failures.AddOrUpdate(reason, 1, (_, n) => n + 1);
    // Per stream, NaN until it got there: a stream that failed before its first piece or its end counts in neither.
    var firstPieces = Enumerable.Repeat(double.NaN, count).ToArray();
    var streamTimes = Enumerable.Repeat(double.NaN, count).ToArray();
    var clock = Stopwatch.StartNew();
    var cpuBefore = (Api: CpuTicks(apiPid), Model: CpuTicks(modelPid), Client: Process.GetCurrentProcess().TotalProcessorTime);
    await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        await Task.Delay(TimeSpan.FromMilliseconds(1000.0 * i / count));
        var mine = gaps[i] = [];
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await client.SendAsync(surface.Request(5_000_000 + i, $"h-{i}-{Guid.NewGuid():n}"), HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                Failed($"HTTP-{(int)response.StatusCode}");
                return;
            }
            long? last = null;
            string? end = null;
            await foreach (var item in EventsAsync(response))
            {
                if (item.Name == surface.Delta)
                {
                    var now = Stopwatch.GetTimestamp();
                    if (last is { } previous)
                    {
                        mine.Add(Stopwatch.GetElapsedTime(previous, now).TotalMilliseconds);
                    }
                    else
                    {
                        firstPieces[i] = Stopwatch.GetElapsedTime(started, now).TotalMilliseconds;
                    }
                    last = now;
                }
                if (item.Name == surface.Done || item.Name is "error" or "resume" or "response.failed" or "response.incomplete")
                {
                    end = item.Name == "error"
                        ? $"error-{(item.Data.TryGetProperty("status", out var status) ? status : item.Data.GetProperty("code"))}"
                        : item.Name;
                }
            }
            streamTimes[i] = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (end != surface.Done)
            {
                Failed(end ?? "no-end");
            }
        }
        catch (HttpRequestException exception)
        {
            Failed(exception.HttpRequestError.ToString());
        }
    }));
    var wall = clock.Elapsed.TotalSeconds;
    var meanApiCpu = (CpuTicks(apiPid) - cpuBefore.Api) / TicksPerSecond / wall * 100;
    var meanModelCpu = (CpuTicks(modelPid) - cpuBefore.Model) / TicksPerSecond / wall * 100;
    var meanClientCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore.Client).TotalSeconds / wall * 100;
    await sampling.CancelAsync();
    await sampler;
    await using var peak = new MySqlConnector.MySqlCommand("SHOW GLOBAL STATUS LIKE 'Max_used_connections'", monitor);
    await using var reader = await peak.ExecuteReaderAsync();
    await reader.ReadAsync();
    var peakConnections = int.Parse(reader.GetString(1), CultureInfo.InvariantCulture) - 1;
    var all = gaps.SelectMany(list => list).Order().ToArray();
    var firsts = firstPieces.Where(double.IsFinite).Order().ToArray();
    var wholes = streamTimes.Where(double.IsFinite).Order().ToArray();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT streams={count} failed={failures.Values.Sum()} wall_s={wall:0.0} gap_p50_ms={Percentile(all, 50):0} gap_p99_ms={Percentile(all, 99):0} " +
        $"gap_max_ms={(all.Length == 0 ? 0 : all[^1]):0} peak_rss_mib={peakRss / 1048576} peak_cpu_pct={peakCpu:0} peak_db_connections={peakConnections} " +
        $"first_piece_p50_ms={Percentile(firsts, 50):0} first_piece_p99_ms={Percentile(firsts, 99):0} " +
        $"stream_p50_s={Percentile(wholes, 50):0.0} stream_max_s={(wholes.Length == 0 ? 0 : wholes[^1]):0.0} " +
        $"mean_cpu_pct_api={meanApiCpu:0} mean_cpu_pct_model={meanModelCpu:0} mean_cpu_pct_client={meanClientCpu:0}") +
        (failures.IsEmpty ? "" : $" failures={string.Join(',', failures.Select(failure => $"{failure.Key}:{failure.Value}"))}"));

    static long RssBytes(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Where(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024)
            .FirstOrDefault();

    static long CpuTicks(int pid)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
}

static async Task<List<Event>> ReadEventsAsync(HttpResponseMessage response, bool stopAfterFirstText)
{
    var events = new List<Event>();
    await foreach (var item in EventsAsync(response))
    {
        events.Add(item);
        if (stopAfterFirstText && item.Name == "delta")
        {
            break;
        }
    }
    return events;
}

// Parsed from bytes, each event's name one of a few constant strings: this client shares the machine's cores with the API
// it measures, and the streams scenario reads 40,000 events a second.
static async IAsyncEnumerable<Event> EventsAsync(HttpResponseMessage response)
{
    if (!response.IsSuccessStatusCode)
    {
        yield break;
    }
    await using var stream = await response.Content.ReadAsStreamAsync();
    var reader = PipeReader.Create(stream);
    while (true)
    {
        var read = await reader.ReadAsync();
        var buffer = read.Buffer;
        var events = new List<Event>();
        while (TryReadEvent(ref buffer, out var next))
        {
            if (next is not null)
            {
                events.Add(next);
            }
        }
        reader.AdvanceTo(buffer.Start, read.Buffer.End);
        foreach (var item in events)
        {
            yield return item;
        }
        if (read.IsCompleted)
        {
            break;
        }
    }
    await reader.CompleteAsync();

    // False when the buffer holds no whole event yet; the event is null when it was a comment (the keepalive).
    static bool TryReadEvent(ref ReadOnlySequence<byte> buffer, out Event? item)
    {
        item = null;
        var sequence = new SequenceReader<byte>(buffer);
        if (!sequence.TryReadTo(out ReadOnlySequence<byte> block, "\n\n"u8))
        {
            return false;
        }
        buffer = buffer.Slice(sequence.Position);
        string? name = null, id = null, data = null;
        var lines = new SequenceReader<byte>(block);
        while (!lines.End)
        {
            if (!lines.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
            {
                line = lines.UnreadSequence;
                lines.AdvanceToEnd();
            }
            var bytes = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
            if (bytes.StartsWith("event: "u8))
            {
                name = EventName(bytes[7..]);
            }
            else if (bytes.StartsWith("id: "u8))
            {
                id = Encoding.UTF8.GetString(bytes[4..]);
            }
            else if (bytes.StartsWith("data: "u8))
            {
                data = Encoding.UTF8.GetString(bytes[6..]);
            }
        }
        if (name is not null && data is not null)
        {
            item = new Event(name, id, data);
        }
        return true;
    }

    static string EventName(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("delta"u8) ? "delta" : name.SequenceEqual("done"u8) ? "done" : name.SequenceEqual("start"u8) ? "start" :
        name.SequenceEqual("error"u8) ? "error" : name.SequenceEqual("resume"u8) ? "resume" : Encoding.UTF8.GetString(name);
}

static double Percentile(double[] sorted, int percent) =>
    sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(sorted.Length * percent / 100.0) - 1)];

// The data is parsed only when read: the streams scenario reads 40,000 events a second on the cores the API runs on,
// and needs their names.
internal sealed record Event(string Name, string? Id, string RawData)
{
    public JsonElement Data => JsonDocument.Parse(RawData).RootElement.Clone();
}

// What a hold bench streams through: the native stream, or /v1/responses with an API key.
internal sealed record Surface(Func<long, string, HttpRequestMessage> Request, string Delta, string Done)
{
    public static readonly Surface Native = new((user, messageId) => new(HttpMethod.Post, "/chat-message/stream")
    {
        Content = System.Net.Http.Json.JsonContent.Create(new { message = "stream to me", user_id = user, message_id = messageId }),
    }, "delta", "done");

    public static Surface Responses(string apiKey) => new((_, _) =>
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { input = "stream to me", stream = true }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return request;
    }, "response.output_text.delta", "response.completed");
}
