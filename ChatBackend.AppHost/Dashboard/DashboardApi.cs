using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Aspire.Hosting.Dashboard;

internal sealed record ResourceView(
    string Name, string Type, string State, string DisplayState, string? Health, DateTimeOffset? StartTime, int? ExitCode, string? Reason,
    string[] Endpoints, long ErrorCount, string[] Actions);

internal sealed record EnvironmentVariable(string Name, string? Value, bool Masked);

internal sealed record HealthReport(string Name, string Status, string Description);

internal sealed record ResourceDetails(
    ResourceView Resource, EnvironmentVariable[] Environment, HealthReport[] HealthReports, string[] References, string[] WaitsFor, string? Parent);

internal sealed record TraceDetail(string TraceId, List<SpanView> Spans, long LogCount);

internal sealed record DashboardStatus(IngestCounts Ingest, Dictionary<string, long> Trimmed, Dictionary<string, long> Stored);

/// <summary>The JSON the dashboard's pages read, and its actions. Every route needs the login cookie.</summary>
internal static partial class DashboardApi
{
    public static RouteGroupBuilder MapDashboardApi(this RouteGroupBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/resources", GetResourcesAsync);
        api.MapGet("/resources/{name}", GetResourceAsync);
        api.MapPost("/resources/{name}/{action}", RunAction);
        api.MapGet("/console", (string? resource, long? after, int? limit, TelemetryQueries queries, CancellationToken cancellationToken) =>
            queries.ConsoleAsync(Blank(resource), after, limit ?? 2_000, cancellationToken));
        api.MapGet("/logs", GetLogsAsync);
        api.MapGet("/traces", (string? resource, string? text, long? before, int? limit, TelemetryQueries queries, CancellationToken cancellationToken) =>
            queries.TracesAsync(Blank(resource), Blank(text), before, limit ?? 100, cancellationToken));
        api.MapGet("/traces/{traceId}", GetTraceAsync);
        api.MapGet("/metrics/instruments", (string? resource, TelemetryQueries queries, CancellationToken cancellationToken) =>
            queries.InstrumentsAsync(Blank(resource), cancellationToken));
        api.MapGet("/metrics/points", GetPointsAsync);
        api.MapGet("/status", GetStatusAsync);
        api.MapPost("/telemetry/clear", ClearAsync);
        return api;
    }

    public static async Task<List<ResourceView>> GetResourcesAsync(
        DistributedApplicationModel model, ResourceNotificationService notifications, ResourceTimes times, TelemetryQueries queries,
        CancellationToken cancellationToken)
    {
        var errors = await queries.ErrorCountsAsync(cancellationToken);
        return [.. model.Resources.Select(resource => View(resource, notifications, times, errors))];
    }

    public static async Task<Results<Ok<ResourceDetails>, NotFound>> GetResourceAsync(
        string name, DistributedApplicationModel model, ResourceNotificationService notifications, ResourceTimes times, TelemetryQueries queries,
        CancellationToken cancellationToken)
    {
        if (model.Resources.FirstOrDefault(resource => resource.Name == name) is not { } resource)
        {
            return TypedResults.NotFound();
        }
        var view = View(resource, notifications, times, await queries.ErrorCountsAsync(cancellationToken));
        var environment = resource is ProjectResource { StartedEnvironment: { } variables }
            ? variables.OrderBy(variable => variable.Key, StringComparer.Ordinal).Select(variable => Mask(variable.Key, variable.Value)).ToArray()
            : [];
        var references = resource is ProjectResource project ? project.References.Select(reference => reference.Name).ToArray() : [];
        var waits = resource is Resource { Waits: var list }
            ? list.Select(wait => $"{wait.Resource.Name} ({(wait.Type == WaitType.WaitForCompletion ? "WaitForCompletion" : "WaitFor")})").ToArray()
            : [];
        var parent = resource is MySqlDatabaseResource database ? database.Parent.Name : null;
        return TypedResults.Ok(new ResourceDetails(view, environment, HealthReports(resource, notifications.Get(name)), references, waits, parent));
    }

    public static Results<Accepted, NotFound, Conflict<string>> RunAction(
        string name, string action, DistributedApplicationModel model, ResourceNotificationService notifications, Orchestrator orchestrator)
    {
        if (model.Resources.FirstOrDefault(resource => resource.Name == name) is not { } resource)
        {
            return TypedResults.NotFound();
        }
        if (!Actions(resource, notifications.Get(name)).Contains(action))
        {
            return TypedResults.Conflict($"'{action}' is not possible for {name} now.");
        }
        // The action runs on after the request: stopping a project takes up to its grace period. The resources page
        // shows how it goes.
        _ = action == "stop"
            ? orchestrator.StopResourceAsync(resource, CancellationToken.None)
            : orchestrator.StartResourceAsync(resource, CancellationToken.None);
        return TypedResults.Accepted($"/api/resources/{name}");
    }

    public static Task<List<LogView>> GetLogsAsync(
        string? resource, int? level, string? text, long? from, long? to, string? traceId, long? after, long? before, int? limit,
        TelemetryQueries queries, CancellationToken cancellationToken) =>
        queries.LogsAsync(new LogFilter(Blank(resource), level, Blank(text), from, to, Blank(traceId), after, before), limit ?? 200, cancellationToken);

    public static async Task<Results<Ok<TraceDetail>, NotFound>> GetTraceAsync(string traceId, TelemetryQueries queries, CancellationToken cancellationToken)
    {
        var spans = await queries.SpansAsync(traceId, cancellationToken);
        if (spans.Count == 0)
        {
            return TypedResults.NotFound();
        }
        return TypedResults.Ok(new TraceDetail(traceId, spans, await queries.LogCountAsync(traceId, cancellationToken)));
    }

    public static Task<List<PointView>> GetPointsAsync(
        string resource, string meter, string instrument, int? minutes, TelemetryQueries queries, CancellationToken cancellationToken)
    {
        var from = UnixTime.Nanoseconds(DateTimeOffset.UtcNow.AddMinutes(-Math.Clamp(minutes ?? 5, 1, 24 * 60)));
        return queries.PointsAsync(resource, meter, instrument, from, cancellationToken);
    }

    public static async Task<DashboardStatus> GetStatusAsync(
        TelemetryIngest ingest, TelemetryStore store, TelemetryQueries queries, CancellationToken cancellationToken)
    {
        Dictionary<string, long> trimmed;
        lock (store.Trimmed)
        {
            trimmed = new Dictionary<string, long>(store.Trimmed);
        }
        return new DashboardStatus(ingest.Counts, trimmed, await queries.CountsAsync(cancellationToken));
    }

    public static async Task<NoContent> ClearAsync(TelemetryStore store, CancellationToken cancellationToken)
    {
        await store.ClearAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static ResourceView View(IResource resource, ResourceNotificationService notifications, ResourceTimes times, Dictionary<string, long> errors)
    {
        var snapshot = notifications.Get(resource.Name) ?? new ResourceSnapshot(KnownResourceStates.NotStarted);
        string[] endpoints = resource is ProjectResource { HttpEndpoint: { } url } ? [url.ToString()] : [];
        return new ResourceView(resource.Name, TypeOf(resource), snapshot.State, snapshot.DisplayState, snapshot.Health?.ToString(),
            times.StartOf(resource.Name), snapshot.ExitCode, snapshot.Reason, endpoints, errors.GetValueOrDefault(resource.Name),
            Actions(resource, snapshot));
    }

    private static string[] Actions(IResource resource, ResourceSnapshot? snapshot)
    {
        if (!Orchestrator.HasProcess(resource) || snapshot is null)
        {
            return [];
        }
        if (snapshot.State is KnownResourceStates.Running or KnownResourceStates.Starting)
        {
            return ["stop", "restart"];
        }
        return snapshot.IsTerminal ? ["start"] : [];
    }

    private static string TypeOf(IResource resource) => resource switch
    {
        ProjectResource => "Project",
        MySqlServerResource => "MySqlServer",
        MySqlDatabaseResource => "MySqlDatabase",
        ConnectionStringResource => "ConnectionString",
        _ => resource.GetType().Name,
    };

    private static HealthReport[] HealthReports(IResource resource, ResourceSnapshot? snapshot)
    {
        var status = snapshot?.Health?.ToString() ?? "Unknown";
        return resource switch
        {
            ProjectResource { HealthCheckPath: { } path } project =>
                [new HealthReport("http_health_check", status, $"GET {(project.HttpEndpoint is { } url ? new Uri(url, path) : path)}")],
            MySqlServerResource => [new HealthReport("mysql", status, "The server answers a connection.")],
            MySqlDatabaseResource database => [new HealthReport("mysql_database", status, $"Created on {database.Parent.Name} when it is ready.")],
            _ => [],
        };
    }

    // Secrets stay in the AppHost: a password, key, token or header value is never sent, nor a connection string's password.
    private static EnvironmentVariable Mask(string name, string? value)
    {
        if (value is null)
        {
            return new EnvironmentVariable(name, null, false);
        }
        if (SecretName().IsMatch(name))
        {
            return new EnvironmentVariable(name, "••••••••", true);
        }
        var masked = PasswordPart().Replace(value, "${key}=••••••••");
        masked = UriPassword().Replace(masked, "${user}:••••••••@");
        return new EnvironmentVariable(name, masked, masked != value);
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    [GeneratedRegex("(PASSWORD|SECRET|TOKEN|APIKEY|API_KEY|HEADERS)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex("(?<key>(Password|Pwd|Key|AccessKey)\\s*)=[^;]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPart();

    [GeneratedRegex("(?<user>//[^:/@]+):[^@]*@")]
    private static partial Regex UriPassword();
}
