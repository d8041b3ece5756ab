using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Aspire.Hosting;
using ChatBackend.AppHost.Dashboard.Otlp;
using ChatBackend.Tests.Infrastructure;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ChatBackend.Tests;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium driven by Playwright) against the whole application run from the
/// AppHost's entry point: a real MySQL server, the migrator and the API as processes exporting OTLP to the AppHost, and
/// the fake model. Screenshots of each page land in artifacts/dashboard-screenshots (DASHBOARD_SCREENSHOTS to move them).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DashboardTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);
    private static readonly float ExpectTimeout = 30_000;

    private readonly string _data = Directory.CreateTempSubdirectory("chatbackend-dashboard-test-").FullName;
    private readonly int _uiPort = MySqlServerLauncher.FreePort();
    private readonly int _grpcPort = MySqlServerLauncher.FreePort();
    private readonly int _httpPort = MySqlServerLauncher.FreePort();

    [Fact]
    public async Task TheDashboardShowsEveryPartOfAChatTurnAndStillHasItsTraceAfterTheAppHostRestarts()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            // As this machine's probe starts it: no sandbox as root, and no background calls to a closed network.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
        var traceId = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var streamedTraceId = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var user = Chat.NewUserId();
        var message = $"dashboard test {Guid.NewGuid():n}";

        await using (var run = await StartAsync(model))
        {
            var app = run.Application;
            await app.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());
            await AssertLockedAsync();

            var page = await LoginAsync(browser, run);
            var apiRow = page.Locator("tr[data-resource='apiservice']");
            await Expect(apiRow.Locator(".state")).ToHaveTextAsync("Running", new() { Timeout = ExpectTimeout });
            await Expect(page.Locator("tr[data-resource='migrator'] .state")).ToHaveTextAsync("Finished");
            await apiRow.Locator("a[data-details]").ClickAsync();
            await Expect(page.Locator("#details")).ToContainTextAsync("OTEL_EXPORTER_OTLP_ENDPOINT");
            await Expect(page.Locator("#details")).ToContainTextAsync("masked");
            await Expect(page.Locator("#details")).Not.ToContainTextAsync(app.Services.GetRequiredService<Aspire.Hosting.Dashboard.DashboardOptions>().OtlpApiKey);
            await ScreenshotAsync(page, "resources");

            // A chat turn whose trace id we choose, so that its trace is ours among all the others.
            using (var client = UntracedClient(app.GetEndpoint("apiservice"), traceId))
            {
                await client.SendOkAsync(message, user);
            }
            // And a streamed one, whose chat span also has the time to the first token.
            using (var client = UntracedClient(app.GetEndpoint("apiservice"), streamedTraceId))
            using (var streamed = await client.PostAsync($"/chat-message/stream?message=streamed&user_id={user}&message_count=1", content: null))
            {
                Assert.Contains("event: done", await streamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            await page.GotoAsync($"{UiUrl}/consolelogs?resource=apiservice");
            await Expect(page.Locator("#console")).ToContainTextAsync("Now listening on", new() { Timeout = ExpectTimeout });
            await ScreenshotAsync(page, "console-logs");

            await page.GotoAsync($"{UiUrl}/traces?text={traceId}");
            await page.Locator($"tr[data-trace='{traceId}'] a").ClickAsync(new() { Timeout = ExpectTimeout });
            await AssertChatTraceAsync(page, model: "gpt-4o-mini");
            await ScreenshotAsync(page, "trace-detail");
            await page.GotoAsync($"{UiUrl}/traces/detail/{streamedTraceId}");
            await Expect(page.Locator("table.waterfall")).ToContainTextAsync("first token", new() { Timeout = ExpectTimeout });
            await page.GotoAsync($"{UiUrl}/traces");
            await Expect(page.Locator($"tr[data-trace='{traceId}']")).ToBeVisibleAsync(new() { Timeout = ExpectTimeout });
            await ScreenshotAsync(page, "traces");

            await page.GotoAsync($"{UiUrl}/structuredlogs?resource=apiservice&traceId={traceId}");
            var logRow = page.Locator("#logs tr").First;
            await Expect(logRow).ToContainTextAsync(traceId[..7], new() { Timeout = ExpectTimeout });
            await logRow.ClickAsync();
            await Expect(page.Locator("#entry")).ToContainTextAsync(traceId);
            await ScreenshotAsync(page, "structured-logs");

            await AssertOtlpOverHttpIsStoredAsync(page, app.Services.GetRequiredService<Aspire.Hosting.Dashboard.DashboardOptions>().OtlpApiKey);

            await page.GotoAsync($"{UiUrl}/metrics?resource=apiservice&meter=Microsoft.AspNetCore.Hosting&instrument=http.server.request.duration");
            await Expect(page.Locator("#chart table")).ToContainTextAsync("/chat-message", new() { Timeout = ExpectTimeout });
            await Expect(page.Locator("#chart svg polyline").First).ToBeAttachedAsync();
            await ScreenshotAsync(page, "metrics");

            await app.StopAsync(Timeout());
        }

        // A new AppHost on the same data: a new token, and the same trace.
        await using (var again = await StartAsync(model))
        {
            var page = await LoginAsync(browser, again);
            await page.GotoAsync($"{UiUrl}/traces/detail/{traceId}");
            await AssertChatTraceAsync(page, model: "gpt-4o-mini");
            await AssertLockedAsync();

            // Start runs the finished migrator again, and it finishes again.
            await again.Application.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());
            await page.GotoAsync($"{UiUrl}/");
            await page.Locator("tr[data-resource='migrator'] button[data-action='start']").ClickAsync(new() { Timeout = ExpectTimeout });
            await WaitUntilAsync(() => again.Application.ResourceLogs.GetLines("migrator").Count(line => line.Text.Contains("schema is at version")) == 2);
            await Expect(page.Locator("tr[data-resource='migrator'] .state")).ToHaveTextAsync("Finished", new() { Timeout = ExpectTimeout });

            // Clear empties the store.
            page.Dialog += (_, dialog) => dialog.AcceptAsync();
            await page.Locator("#clear").ClickAsync();
            await Expect(page.Locator("#status")).ToContainTextAsync("dropped", new() { Timeout = ExpectTimeout });
            var gone = await page.Context.APIRequest.GetAsync($"{UiUrl}/api/traces/{traceId}");
            Assert.Equal(404, gone.Status);
            await again.Application.StopAsync(Timeout());
        }
    }

    // The trace of one chat turn: the API's request, its database work, the model call over HTTP, and the chat span's facts.
    private static async Task AssertChatTraceAsync(IPage page, string model)
    {
        var waterfall = page.Locator("table.waterfall");
        await Expect(waterfall).ToContainTextAsync("POST /chat-message", new() { Timeout = ExpectTimeout });
        await Expect(waterfall).ToContainTextAsync($"chat {model}");
        await Expect(waterfall).ToContainTextAsync($"model {model}");
        await Expect(waterfall).ToContainTextAsync($"in {FakeOpenAIServer.PromptTokens} tokens");
        await Expect(waterfall).ToContainTextAsync($"out {FakeOpenAIServer.CompletionTokens} tokens");
        var database = waterfall.Locator("tr[data-span]", new() { HasText = "Execute" }).First;
        await database.ClickAsync();
        await Expect(page.Locator("#span")).ToContainTextAsync("db.system");
    }

    // The services export over gRPC; OTLP over HTTP/protobuf with the key is stored as well.
    private async Task AssertOtlpOverHttpIsStoredAsync(IPage page, string apiKey)
    {
        var traceId = RandomNumberGenerator.GetBytes(16);
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(8)),
            Name = "sent over OTLP/HTTP",
            StartTimeUnixNano = (ulong)Aspire.Hosting.Dashboard.UnixTime.Nanoseconds(DateTimeOffset.UtcNow),
            EndTimeUnixNano = (ulong)Aspire.Hosting.Dashboard.UnixTime.Nanoseconds(DateTimeOffset.UtcNow.AddMilliseconds(1)),
        };
        var request = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span } } } } } };
        request.ResourceSpans[0].Resource = new ChatBackend.AppHost.Dashboard.Otlp.Resource
        {
            Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "http-exporter" } } },
        };
        using var client = new HttpClient();
        using var content = new ByteArrayContent(request.ToByteArray()) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-protobuf") } };
        content.Headers.Add("x-otlp-api-key", apiKey);
        using var sent = await client.PostAsync($"http://localhost:{_httpPort}/v1/traces", content);
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);

        await page.GotoAsync($"{UiUrl}/traces/detail/{Convert.ToHexStringLower(traceId)}");
        await Expect(page.Locator("table.waterfall")).ToContainTextAsync("http-exporter", new() { Timeout = ExpectTimeout });
    }

    private async Task<IPage> LoginAsync(IBrowser browser, StartedApp run)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var page = await context.NewPageAsync();
        var login = run.Application.Services.GetRequiredService<Aspire.Hosting.Dashboard.DashboardServer>().LoginUrl!;
        var response = await page.GotoAsync(login.ToString());
        Assert.Equal(200, response!.Status);
        Assert.Equal($"{UiUrl}/", page.Url);
        return page;
    }

    // Without the browser token's cookie, every page and API answers 401; without the API key, OTLP does too.
    private async Task AssertLockedAsync()
    {
        using var anonymous = new HttpClient();
        foreach (var path in new[] { "/", "/traces", "/api/resources", "/api/traces", "/login?t=wrong" })
        {
            using var response = await anonymous.GetAsync($"{UiUrl}{path}");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using var otlp = await anonymous.PostAsync($"http://localhost:{_httpPort}/v1/traces",
            new ByteArrayContent([]) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-protobuf") } });
        Assert.Equal(HttpStatusCode.Unauthorized, otlp.StatusCode);
        // gRPC (HTTP/2 without TLS, as the exporters speak it) without the key: refused before the call is read.
        using var grpc = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Post,
            $"http://localhost:{_grpcPort}/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]) { Headers = { ContentType = new MediaTypeHeaderValue("application/grpc") } },
        });
        Assert.Equal(HttpStatusCode.Unauthorized, grpc.StatusCode);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(200, timeout.Token);
        }
    }

    private string UiUrl => $"http://localhost:{_uiPort}";

    private async Task<StartedApp> StartAsync(FakeOpenAIServer model)
    {
        string[] args = [
            $"--AppHost:DataDirectory={_data}", "--AppHost:RandomizePorts=true", "--AppHost:ContainerRuntime=none", "--environment=Development",
            $"--ASPNETCORE_URLS=http://localhost:{_uiPort}",
            $"--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:{_grpcPort}",
            $"--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://localhost:{_httpPort}",
            $"--ConnectionStrings:openai={model.OpenAIConnectionString()}"];
        var testing = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ChatBackend_AppHost>(args, Timeout());
        var application = testing.Build();
        await application.StartAsync(Timeout());
        return new StartedApp(testing, application);
    }

    // The trace id is the test's own: nothing in this process may replace the traceparent it sends.
    private static HttpClient UntracedClient(Uri baseAddress, string traceId)
    {
        var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() })
        {
            BaseAddress = baseAddress,
        };
        client.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{RandomNumberGenerator.GetHexString(16, lowercase: true)}-01");
        return client;
    }

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        var folder = Environment.GetEnvironmentVariable("DASHBOARD_SCREENSHOTS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(RepositoryRoot(), "artifacts", "dashboard-screenshots");
        Directory.CreateDirectory(folder);
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, $"{name}.png"), FullPage = false });
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ChatBackend.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? AppContext.BaseDirectory;
    }

    // test.sh installs Debian's chromium and passes its path; a browser download is impossible here.
    private static string ChromiumPath() =>
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path
        : File.Exists("/usr/bin/chromium") ? "/usr/bin/chromium"
        : throw new InvalidOperationException("No Chromium: install Debian's chromium package or set CHROMIUM_PATH (test.sh does both).");

    private static CancellationToken Timeout() => new CancellationTokenSource(Bound).Token;

    public void Dispose() => Directory.Delete(_data, recursive: true);
}
