using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting.Dashboard;

/// <summary>
/// The dashboard's settings, under Aspire's names (ASPIRE.md §1.5, §6): the UI on the AppHost's own URL
/// (<c>ASPNETCORE_URLS</c>, from its launch profile), OTLP over gRPC and HTTP on the two ASPIRE_DASHBOARD_OTLP_* URLs, a
/// browser token and an OTLP API key generated per run unless configured, and the limits of the telemetry store.
/// </summary>
internal sealed class DashboardOptions
{
    public const string ApiKeyHeader = "x-otlp-api-key";

    public Uri? FrontendUrl { get; init; }

    public Uri? OtlpGrpcUrl { get; init; }

    public Uri? OtlpHttpUrl { get; init; }

    public required string BrowserToken { get; init; }

    /// <summary>ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS: no login.</summary>
    public bool AllowAnonymous { get; init; }

    public required string OtlpApiKey { get; init; }

    /// <summary>The SQLite file that keeps telemetry and console logs across runs.</summary>
    public required string StorePath { get; init; }

    /// <summary>Dashboard:TelemetryLimits:MaxAge: older data is removed (default 3 days).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(3);

    /// <summary>Dashboard:TelemetryLimits:MaxStorageMegabytes: above it, the oldest tenth goes (default 512).</summary>
    public long MaxStorageBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>Dashboard:TelemetryLimits:MaxQueuedItems: items waiting for the store; past it the oldest are dropped.</summary>
    public int MaxQueuedItems { get; init; } = 200_000;

    public bool Enabled => FrontendUrl is not null || OtlpGrpcUrl is not null || OtlpHttpUrl is not null;

    /// <summary>The OTLP endpoint the resources export to: gRPC when it is configured, as Aspire prefers.</summary>
    public (Uri Endpoint, string Protocol)? OtlpExport =>
        OtlpGrpcUrl is { } grpc ? (grpc, "grpc") : OtlpHttpUrl is { } http ? (http, "http/protobuf") : null;

    public static DashboardOptions From(IConfiguration configuration)
    {
        var limits = configuration.GetSection("Dashboard:TelemetryLimits");
        var options = new DashboardOptions
        {
            FrontendUrl = FirstUrl(configuration["ASPNETCORE_URLS"], "ASPNETCORE_URLS"),
            OtlpGrpcUrl = FirstUrl(configuration["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] ?? configuration["DOTNET_DASHBOARD_OTLP_ENDPOINT_URL"],
                "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"),
            OtlpHttpUrl = FirstUrl(configuration["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] ?? configuration["DOTNET_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"],
                "ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"),
            BrowserToken = configuration["ASPIRE_DASHBOARD_FRONTEND_BROWSERTOKEN"] ?? configuration["Dashboard:Frontend:BrowserToken"]
                ?? RandomNumberGenerator.GetHexString(32, lowercase: true),
            AllowAnonymous = configuration.GetValue<bool>("ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"),
            OtlpApiKey = configuration["AppHost:OtlpApiKey"] is { Length: > 0 } key ? key : RandomNumberGenerator.GetHexString(32, lowercase: true),
            StorePath = Path.Combine(AppHostData.Root(configuration), "dashboard", "telemetry.db"),
            MaxAge = limits.GetValue("MaxAge", TimeSpan.FromDays(3)),
            MaxStorageBytes = limits.GetValue("MaxStorageMegabytes", 512L) * 1024 * 1024,
            MaxQueuedItems = limits.GetValue("MaxQueuedItems", 200_000),
        };
        if (options.MaxAge <= TimeSpan.Zero || options.MaxStorageBytes <= 0 || options.MaxQueuedItems <= 0)
        {
            throw new InvalidOperationException(
                "Dashboard:TelemetryLimits:MaxAge, MaxStorageMegabytes and MaxQueuedItems must be positive.");
        }
        return options;
    }

    // Aspire's URL variables may hold several URLs separated by ';': the first one serves.
    private static Uri? FirstUrl(string? value, string key)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        var first = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        return Uri.TryCreate(first, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttp
            ? url
            : throw new InvalidOperationException($"{key} must be an http:// URL such as http://localhost:15888; it is '{first}'.");
    }
}
