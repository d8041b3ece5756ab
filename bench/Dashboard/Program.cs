// The dashboard's bench (bench/run.sh runs it):
//   host ARGS...                              the dashboard alone: the AppHost's hosting layer with no resources
//   spans GRPC_URL KEY RATE SECONDS           OTLP/gRPC span exports at RATE spans/s, as 10 batches a second
//   fill GRPC_URL KEY COUNT                   COUNT spans as fast as the receiver takes them, in traces of 5
//   page UI_URL TOKEN ITERATIONS              times what a browser fetches to open the traces page of 100 traces
// Each prints one RESULT line.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Aspire.Hosting;
using ChatBackend.AppHost.Dashboard.Otlp;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

var invariant = CultureInfo.InvariantCulture;
switch (args.FirstOrDefault())
{
    case "host":
        DistributedApplication.CreateBuilder(args[1..]).Build().Run();
        break;
    case "spans":
        await SendSpansAsync(args[1], args[2], int.Parse(args[3], invariant), TimeSpan.FromSeconds(int.Parse(args[4], invariant)));
        break;
    case "fill":
        await FillAsync(args[1], args[2], int.Parse(args[3], invariant));
        break;
    case "page":
        await TimePageAsync(new Uri(args[1]), args[2], int.Parse(args[3], invariant));
        break;
    default:
        Console.Error.WriteLine("usage: host ARGS... | spans GRPC_URL KEY RATE SECONDS | fill GRPC_URL KEY COUNT | page UI_URL TOKEN ITERATIONS");
        return 2;
}
return 0;

// The requests are built and serialized before the clock starts, so that the generator's own CPU is little more than
// sending them: on two cores, what it spends is taken from the API under test.
static async Task SendSpansAsync(string url, string key, int rate, TimeSpan duration)
{
    var batch = Math.Max(1, rate / 10);
    var requests = Enumerable.Range(0, (int)Math.Ceiling(duration.TotalSeconds * 10)).Select(tick => Request(batch, tick).ToByteArray()).ToList();
    using var channel = GrpcChannel.ForAddress(url);
    var headers = new Metadata { { "x-otlp-api-key", key } };
    long sent = 0, failed = 0;
    var clock = Stopwatch.StartNew();
    for (var tick = 0; tick < requests.Count; tick++)
    {
        try
        {
            await channel.CreateCallInvoker().AsyncUnaryCall(RawExport, null, new CallOptions(headers), requests[tick]);
            sent += batch;
        }
        catch (RpcException)
        {
            failed += batch;
        }
        var next = TimeSpan.FromMilliseconds(100 * (tick + 1)) - clock.Elapsed;
        if (next > TimeSpan.Zero)
        {
            await Task.Delay(next);
        }
    }
    Console.WriteLine(FormattableString.Invariant(
        $"RESULT sent={sent} failed={failed} spans_per_s={sent / clock.Elapsed.TotalSeconds:F0} seconds={clock.Elapsed.TotalSeconds:F1}"));
}

static async Task FillAsync(string url, string key, int count)
{
    using var channel = GrpcChannel.ForAddress(url);
    var client = new TraceService.TraceServiceClient(channel);
    var headers = new Metadata { { "x-otlp-api-key", key } };
    var clock = Stopwatch.StartNew();
    for (var tick = 0; tick * 500 < count; tick++)
    {
        await client.ExportAsync(Request(Math.Min(500, count - (tick * 500)), tick), headers);
    }
    Console.WriteLine(FormattableString.Invariant($"RESULT sent={count} seconds={clock.Elapsed.TotalSeconds:F1}"));
}

// The requests a browser makes to open /traces: the shell, its script and style, and the page's API calls.
static async Task TimePageAsync(Uri ui, string token, int iterations)
{
    using var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = ui };
    (await client.GetAsync($"/login?t={token}")).EnsureSuccessStatusCode();
    string[] paths = ["/traces", "/assets/app.js", "/assets/app.css", "/api/resources", "/api/status", "/api/traces?limit=100"];
    var times = new List<double>();
    var api = new List<double>();
    for (var i = 0; i < iterations + 3; i++)
    {
        var clock = Stopwatch.StartNew();
        double apiMs = 0;
        foreach (var path in paths)
        {
            var one = Stopwatch.StartNew();
            using var response = await client.GetAsync(path);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStringAsync();
            if (path.StartsWith("/api/traces", StringComparison.Ordinal) && body.Split("\"traceId\"").Length - 1 != 100)
            {
                throw new InvalidOperationException("The page did not get 100 traces.");
            }
            apiMs = path.StartsWith("/api/traces", StringComparison.Ordinal) ? one.Elapsed.TotalMilliseconds : apiMs;
        }
        if (i >= 3)
        {
            times.Add(clock.Elapsed.TotalMilliseconds);
            api.Add(apiMs);
        }
    }
    times.Sort();
    api.Sort();
    Console.WriteLine(FormattableString.Invariant(
        $"RESULT page_p50_ms={times[times.Count / 2]:F1} page_p99_ms={times[(int)(times.Count * 0.99)]:F1} traces_api_p50_ms={api[api.Count / 2]:F1}"));
}

// Spans shaped like the API's: an HTTP server root and its children, with the attributes ASP.NET Core and MySqlConnector set.
static ExportTraceServiceRequest Request(int spans, int tick)
{
    var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
    var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Microsoft.AspNetCore" } };
    var traceId = ByteString.Empty;
    var rootId = ByteString.Empty;
    for (var i = 0; i < spans; i++)
    {
        var root = i % 5 == 0;
        if (root)
        {
            traceId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        }
        var spanId = ByteString.CopyFrom(BitConverter.GetBytes(((long)tick << 32) | (uint)i));
        if (root)
        {
            rootId = spanId;
        }
        var span = new Span
        {
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = root ? ByteString.Empty : rootId,
            Name = root ? "POST /chat-message" : "Execute",
            Kind = root ? Span.Types.SpanKind.Server : Span.Types.SpanKind.Client,
            StartTimeUnixNano = now + (ulong)(i % 5 * 1_000_000),
            EndTimeUnixNano = now + 5_000_000,
        };
        span.Attributes.Add(Attribute("http.request.method", "POST"));
        span.Attributes.Add(Attribute("url.path", "/chat-message"));
        span.Attributes.Add(Attribute("db.system", "mysql"));
        span.Attributes.Add(Attribute("server.address", "localhost"));
        scope.Spans.Add(span);
    }
    var resource = new ResourceSpans { Resource = new ChatBackend.AppHost.Dashboard.Otlp.Resource() };
    resource.Resource.Attributes.Add(Attribute("service.name", "spangen"));
    resource.ScopeSpans.Add(scope);
    var request = new ExportTraceServiceRequest();
    request.ResourceSpans.Add(resource);
    return request;
}

static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

// TraceService/Export with the request already serialized.
partial class Program
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

    private static readonly Method<byte[], byte[]> RawExport =
        new(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export", Bytes, Bytes);
}
