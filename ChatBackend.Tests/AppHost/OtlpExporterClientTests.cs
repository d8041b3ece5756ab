using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using OpenTelemetry.Trace;

namespace ChatBackend.Tests.AppHost;

/// <summary>
/// The OTLP exporter's HttpClient is the exporter's own: over http/protobuf it comes from IHttpClientFactory
/// ("OtlpTraceExporter", ...), and ConfigureHttpClientDefaults' standard resilience handler must not be on it.
/// </summary>
[Trait("Category", "AppHost")]
public sealed class OtlpExporterClientTests
{
    [Fact]
    public async Task AFailedExportIsSentOnceNotRetriedByTheServiceDefaultsResilienceHandler()
    {
        // A collector that refuses every export with a 503, which the standard handler retries (2 s, then 4 s, ...).
        var exports = 0;
        var collector = WebApplication.CreateSlimBuilder();
        collector.WebHost.UseUrls("http://127.0.0.1:0");
        await using var server = collector.Build();
        server.MapPost("/v1/traces", () =>
        {
            Interlocked.Increment(ref exports);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        });
        await server.StartAsync(TestContext.Current.CancellationToken);
        var endpoint = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        var source = $"otlp-client-test-{Guid.NewGuid():N}";
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint;
        builder.Configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        builder.AddServiceDefaults();
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(source));
        using var app = builder.Build();
        await app.StartAsync(TestContext.Current.CancellationToken);

        using (var activities = new ActivitySource(source))
        {
            activities.StartActivity("one span")?.Dispose();
        }
        app.Services.GetRequiredService<TracerProvider>().ForceFlush(15_000);
        // A retry of the standard handler would come 2 s (±jitter) after the first attempt, and another 4 s later.
        await Task.Delay(TimeSpan.FromSeconds(4), TestContext.Current.CancellationToken);
        await app.StopAsync(TestContext.Current.CancellationToken);

        // The exporter's own retry may send the batch once more on a loaded machine; the handler's would be a third.
        Assert.InRange(Volatile.Read(ref exports), 1, 2);
        // And the exporters' clients carry no resilience handler at all, whatever the timing.
        var handlers = app.Services.GetRequiredService<IHttpMessageHandlerFactory>();
        foreach (var name in new[] { "OtlpTraceExporter", "OtlpMetricExporter", "OtlpLogExporter" })
        {
            Assert.DoesNotContain(Chain(handlers.CreateHandler(name)), handler => handler is ResilienceHandler);
        }
    }

    private static IEnumerable<HttpMessageHandler> Chain(HttpMessageHandler handler)
    {
        for (HttpMessageHandler? next = handler; next is not null; next = (next as DelegatingHandler)?.InnerHandler)
        {
            yield return next;
        }
    }
}
