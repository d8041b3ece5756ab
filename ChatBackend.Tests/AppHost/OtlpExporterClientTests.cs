using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;

namespace ChatBackend.Tests.AppHost;

/// <summary>
/// The OTLP exporter's HttpClient is the exporter's own: over http/protobuf it comes from IHttpClientFactory
/// ("OtlpTraceExporter", ...), and ConfigureHttpClientDefaults' standard resilience handler (retries, an attempt
/// timeout, a circuit breaker under the exporter's own deadline and retry) must not be on it. Read from the handler
/// chains themselves: a count of the exports a collector receives also counts the spans of every other test running
/// in this process, which the exporter's listener sees too.
/// </summary>
[Trait("Category", "AppHost")]
public sealed class OtlpExporterClientTests
{
    [Fact]
    public void TheOtlpExportersHttpClientsCarryNoResilienceHandlerOfOurs()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:1";
        builder.Configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        builder.AddServiceDefaults();
        using var app = builder.Build();
        var handlers = app.Services.GetRequiredService<IHttpMessageHandlerFactory>();

        foreach (var name in Extensions.OtlpExporterClientNames)
        {
            Assert.DoesNotContain(Chain(handlers.CreateHandler(name)), handler => handler is ResilienceHandler);
        }
        // Every other client keeps it.
        Assert.Contains(Chain(handlers.CreateHandler("model")), handler => handler is ResilienceHandler);
    }

    private static IEnumerable<HttpMessageHandler> Chain(HttpMessageHandler handler)
    {
        for (HttpMessageHandler? next = handler; next is not null; next = (next as DelegatingHandler)?.InnerHandler)
        {
            yield return next;
        }
    }
}
