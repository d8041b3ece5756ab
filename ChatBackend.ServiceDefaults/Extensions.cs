using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

// The Aspire service-defaults template (ASPIRE.md §2), with one deliberate difference: /health and /alive are
// mapped in every environment, because the original served /health in production and container platforms probe them.
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string LiveTag = "live";

    /// <summary>The names the OTLP exporter (OpenTelemetry.Exporter.OpenTelemetryProtocol) asks IHttpClientFactory for.</summary>
    public static readonly IReadOnlyList<string> OtlpExporterClientNames = ["OtlpTraceExporter", "OtlpMetricExporter", "OtlpLogExporter"];

    /// <summary>OpenTelemetry, default health checks, service discovery and resilient HttpClient defaults.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddAspNetCoreInstrumentation(options => options.Filter = context =>
                    !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                    && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
            // Over http/protobuf the exporter takes its HttpClient from IHttpClientFactory by these names, and so
            // got the standard resilience handler that ConfigureHttpClientDefaults gives every client: its retries,
            // attempt timeout and circuit breaker under the exporter's own deadline and retry, its async pipeline
            // under the exporter's synchronous Send. The exporter's client is the exporter's alone.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers: the documented way to undo ConfigureHttpClientDefaults' handler
            foreach (var name in OtlpExporterClientNames)
            {
                builder.Services.AddHttpClient(name).RemoveAllResilienceHandlers();
            }
#pragma warning restore EXTEXP0001
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>Maps /health (every check: readiness) and /alive (checks tagged "live": liveness), both as JSON.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = WriteHealthJson });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealthJson,
        });
        return app;
    }

    // {"status":"Healthy"} as the original answered, plus each check's status and description when one is not
    // healthy. Exception text is never written: it may name hosts, users or SQL.
    private static Task WriteHealthJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            if (report.Status != HealthStatus.Healthy)
            {
                json.WriteStartObject("checks");
                foreach (var (name, entry) in report.Entries)
                {
                    json.WriteStartObject(name);
                    json.WriteString("status", entry.Status.ToString());
                    if (entry.Description is { } description)
                    {
                        json.WriteString("description", description);
                    }
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return context.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
