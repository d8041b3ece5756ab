using System.Security.Cryptography;
using Aspire.Hosting.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>
/// Starts every resource once what it waits for is there, with the environment Aspire gives it, publishes its
/// states, echoes its output prefixed with its name, and at stop ends the resources in the reverse of their start.
/// The dashboard stops, starts and restarts single resources through it.
/// </summary>
internal sealed class Orchestrator(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    ResourceLoggerService logs,
    ProcessLauncher launcher,
    MySqlServerLauncher mySql,
    IConfiguration configuration,
    IHostEnvironment environment,
    DashboardOptions dashboard) : IHostedService
{
    // DCP does not pass these on: each child's come from its own launch profile (ASPIRE.md §1.5).
    private static readonly string[] NotInherited = ["ASPNETCORE_URLS", "DOTNET_LAUNCH_PROFILE", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"];
    private static readonly TimeSpan ProjectStopGrace = TimeSpan.FromSeconds(30);
    private static readonly HttpClient HealthClient = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _console = new();
    private readonly List<Task> _runs = [];
    private readonly Dictionary<string, Task> _currentRuns = [];
    private readonly List<(string Resource, Func<Task> Stop)> _stops = [];
    private readonly HashSet<string> _stoppedByUser = [];
    private readonly Lock _stopsLock = new();
    private readonly SemaphoreSlim _actions = new(1, 1);
    private Task? _stop;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        notifications.Changed += PrintState;
        logs.LineWritten += Echo;
        foreach (var resource in model.Resources)
        {
            Publish(resource, new ResourceSnapshot(
                resource is Resource { Waits.Count: > 0 } or MySqlDatabaseResource ? KnownResourceStates.Waiting : KnownResourceStates.NotStarted));
        }
        foreach (var resource in model.Resources)
        {
            Launch(resource);
        }
        return Task.CompletedTask;
    }

    /// <summary>Whether the dashboard may stop and start it: a process the AppHost started.</summary>
    public static bool HasProcess(IResource resource) => resource is ProjectResource or MySqlServerResource { ExistingConnectionString: null };

    /// <summary>Stops a resource's process, as the dashboard's Stop does; it is then Exited.</summary>
    public async Task StopResourceAsync(IResource resource, CancellationToken cancellationToken)
    {
        await _actions.WaitAsync(cancellationToken);
        try
        {
            await StopOneAsync(resource);
        }
        finally
        {
            _actions.Release();
        }
    }

    /// <summary>Starts a resource that has ended, or restarts a running one (the dashboard's Start and Restart).</summary>
    public async Task StartResourceAsync(IResource resource, CancellationToken cancellationToken)
    {
        await _actions.WaitAsync(cancellationToken);
        try
        {
            await StopOneAsync(resource);
            lock (_stopsLock)
            {
                _stoppedByUser.Remove(resource.Name);
            }
            Launch(resource);
        }
        finally
        {
            _actions.Release();
        }
    }

    // Returns once the resource's run has ended and published its last state, so that a start that follows cannot
    // be overtaken by the old run's "Exited".
    private async Task StopOneAsync(IResource resource)
    {
        List<Func<Task>> stops;
        Task? run;
        lock (_stopsLock)
        {
            _stoppedByUser.Add(resource.Name);
            stops = [.. _stops.Where(entry => entry.Resource == resource.Name).Select(entry => entry.Stop)];
            _stops.RemoveAll(entry => entry.Resource == resource.Name);
            run = _currentRuns.GetValueOrDefault(resource.Name);
        }
        foreach (var stop in stops)
        {
            await stop();
        }
        if (run is not null && stops.Count > 0)
        {
            await run;
        }
    }

    private void Launch(IResource resource)
    {
        lock (_stopsLock)
        {
            if (!_stopping.IsCancellationRequested)
            {
                var run = Task.Run(() => RunAsync(resource, _stopping.Token), CancellationToken.None);
                _runs.Add(run);
                _currentRuns[resource.Name] = run;
            }
        }
    }

    private bool StoppedByUser(IResource resource)
    {
        lock (_stopsLock)
        {
            return _stoppedByUser.Contains(resource.Name);
        }
    }

    // Once, whoever asks first (Ctrl+C, the host, a test): a second stop would signal the children again mid-shutdown.
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_stopsLock)
        {
            _stop ??= StopAllAsync();
        }
        return _stop.WaitAsync(cancellationToken);
    }

    private async Task StopAllAsync()
    {
        await _stopping.CancelAsync();
        List<Func<Task>> stops;
        List<Task> runs;
        lock (_stopsLock)
        {
            stops = [.. _stops.Select(entry => entry.Stop)];
            runs = [.. _runs];
        }
        stops.Reverse();
        foreach (var stop in stops)
        {
            await stop();
        }
        await Task.WhenAll(runs);
        notifications.Changed -= PrintState;
        logs.LineWritten -= Echo;
    }

    private async Task RunAsync(IResource resource, CancellationToken stopping)
    {
        try
        {
            switch (resource)
            {
                case ConnectionStringResource connection:
                    Publish(resource, new ResourceSnapshot(connection.ConnectionString is null ? KnownResourceStates.NotStarted : KnownResourceStates.Active));
                    break;
                case MySqlServerResource server:
                    await RunMySqlAsync(server, stopping);
                    break;
                case ProjectResource project:
                    await RunProjectAsync(project, stopping);
                    break;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
        catch (Exception exception)
        {
            var reason = exception is ResourceStartException or InvalidOperationException ? exception.Message : exception.ToString();
            Publish(resource, new ResourceSnapshot(KnownResourceStates.FailedToStart, Reason: reason));
            if (resource is MySqlServerResource server)
            {
                foreach (var database in server.Databases)
                {
                    Publish(database, new ResourceSnapshot(KnownResourceStates.FailedToStart, Reason: $"Its server '{server.Name}' failed to start."));
                }
            }
        }
    }

    private async Task RunMySqlAsync(MySqlServerResource server, CancellationToken stopping)
    {
        Publish(server, new ResourceSnapshot(KnownResourceStates.Starting));
        var running = await mySql.StartAsync(server, stopping);
        AddStop(server, async () =>
        {
            Publish(server, new ResourceSnapshot(KnownResourceStates.Stopping));
            await running.StopAsync();
            Publish(server, new ResourceSnapshot(KnownResourceStates.Exited, ExitCode: running.Process is { HasExited: true } p ? p.ExitCode : 0));
        });
        logs.Write(server.Name, $"MySQL server: {running.Description}.", isError: false);
        var processId = running.Process?.Id;
        Publish(server, new ResourceSnapshot(KnownResourceStates.Running, HealthStatus.Unhealthy, ProcessId: processId));
        await MySqlServerLauncher.WaitUntilReadyAsync(server, running.Process, stopping);
        running.Ready();
        Publish(server, new ResourceSnapshot(KnownResourceStates.Running, HealthStatus.Healthy, ProcessId: processId));
        foreach (var database in server.Databases)
        {
            Publish(database, new ResourceSnapshot(KnownResourceStates.Running, HealthStatus.Healthy));
        }
        if (running.Process is { } process)
        {
            await process.WaitForExitAsync(stopping);
            Publish(server, new ResourceSnapshot(KnownResourceStates.Exited, ExitCode: process.ExitCode,
                Reason: StoppedByUser(server) ? null : $"The server exited with code {process.ExitCode}."));
        }
    }

    private async Task RunProjectAsync(ProjectResource project, CancellationToken stopping)
    {
        foreach (var wait in project.Waits)
        {
            await WaitAsync(project, wait, stopping);
        }

        Publish(project, new ResourceSnapshot(KnownResourceStates.Starting));
        var projectDirectory = Path.GetDirectoryName(project.Metadata.ProjectPath)!;
        var environment = Environment(project);
        project.StartedEnvironment = environment;
        var targetPath = project.Metadata.TargetPath;
        if (!File.Exists(targetPath))
        {
            throw new ResourceStartException($"{targetPath} is not built; build the solution (dotnet run builds it).");
        }
        var dotnet = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var process = await launcher.StartAsync(project.Name, dotnet, [targetPath], projectDirectory, environment, NotInherited);
        AddStop(project, async () =>
        {
            if (!process.HasExited)
            {
                Publish(project, new ResourceSnapshot(KnownResourceStates.Stopping));
                await ProcessLauncher.StopAsync(process, ProjectStopGrace);
            }
        });
        Publish(project, new ResourceSnapshot(KnownResourceStates.Running,
            project.HealthCheckPath is null ? HealthStatus.Healthy : HealthStatus.Unhealthy, ProcessId: process.Id));

        using var exited = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var health = project.HealthCheckPath is null ? Task.CompletedTask : PollHealthAsync(project, process.Id, exited.Token);
        await process.WaitForExitAsync(CancellationToken.None);
        await exited.CancelAsync();
        await health.ContinueWith(_ => { }, TaskScheduler.Default);
        var code = process.ExitCode;
        var stoppedByUser = StoppedByUser(project);
        Publish(project, new ResourceSnapshot(code == 0 && !stoppedByUser ? KnownResourceStates.Finished : KnownResourceStates.Exited, ExitCode: code,
            Reason: code == 0 || stoppedByUser || stopping.IsCancellationRequested
                ? null
                : $"'{project.Name}' exited unexpectedly with exit code {code}; its log above says why."));
    }

    private async Task WaitAsync(IResource resource, WaitAnnotation wait, CancellationToken stopping)
    {
        var name = wait.Resource.Name;
        logs.Write(resource.Name, wait.Type == WaitType.WaitForCompletion
            ? $"Waiting for resource '{name}' to complete."
            : $"Waiting for resource '{name}' to become healthy.", isError: false);
        var snapshot = await notifications.WaitForResourceAsync(name, s => wait.Type == WaitType.WaitForCompletion
            ? s.IsTerminal
            : (s.State == KnownResourceStates.Running && s.Health == HealthStatus.Healthy) || s.IsTerminal, stopping);
        if (wait.Type == WaitType.WaitForCompletion)
        {
            if (snapshot.State == KnownResourceStates.FailedToStart || snapshot.ExitCode != wait.ExitCode)
            {
                throw new ResourceStartException(
                    $"Resource '{name}' has entered the '{snapshot.State}' state with exit code '{snapshot.ExitCode}', expected '{wait.ExitCode}'.");
            }
        }
        else if (snapshot.IsTerminal)
        {
            throw new ResourceStartException($"Resource '{name}' has entered the '{snapshot.State}' state.");
        }
        logs.Write(resource.Name, $"Finished waiting for resource '{name}'.", isError: false);
    }

    private async Task PollHealthAsync(ProjectResource project, int processId, CancellationToken cancellationToken)
    {
        var url = new Uri(project.HttpEndpoint!, project.HealthCheckPath);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            bool healthy;
            try
            {
                using var response = await HealthClient.GetAsync(url, cancellationToken);
                healthy = response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                healthy = false;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                healthy = false;
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            Publish(project, new ResourceSnapshot(
                KnownResourceStates.Running, healthy ? HealthStatus.Healthy : HealthStatus.Unhealthy, ProcessId: processId));
            // Aspire's rhythm: healthy resources every 30 s, unhealthy ones back off 1 s per failure up to 5 s.
            failures = healthy ? 0 : failures + 1;
            var delay = healthy ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(Math.Min(failures, 5));
            await Task.Delay(failures == 1 ? TimeSpan.FromMilliseconds(250) : delay, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    // The environment of a project in run mode (ASPIRE.md §1.3-§1.6): its launch profile's, then the model's.
    private Dictionary<string, string?> Environment(ProjectResource project)
    {
        var variables = new Dictionary<string, string?>();
        var profile = LaunchProfile.For(project, configuration);
        if (profile is not null)
        {
            variables["DOTNET_LAUNCH_PROFILE"] = profile.Name;
            if (profile.HttpUrl is { } launchUrl)
            {
                var http = launchUrl;
                if (configuration.GetValue<bool>("AppHost:RandomizePorts"))
                {
                    http = new UriBuilder(http) { Port = MySqlServerLauncher.FreePort() }.Uri;
                }
                // No proxy here: the process itself listens on the launch profile's URL, where Aspire's proxy would.
                project.HttpEndpoint = http;
                variables["ASPNETCORE_URLS"] = http.GetLeftPart(UriPartial.Authority);
            }
        }

        foreach (var reference in project.References)
        {
            if (reference.ConnectionString is not { } connectionString)
            {
                continue;
            }
            variables[$"ConnectionStrings__{reference.Name}"] = connectionString;
            foreach (var (property, value) in reference.ConnectionProperties)
            {
                variables[$"{EnvironmentNames.Of(reference.Name)}_{property}"] = value;
            }
        }

        variables["OTEL_SERVICE_NAME"] = project.Name;
        variables["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz", 8)}";
        variables["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory";
        if (dashboard.OtlpExport is var (endpoint, protocol))
        {
            variables["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint.GetLeftPart(UriPartial.Authority);
            variables["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol;
            variables["OTEL_EXPORTER_OTLP_HEADERS"] = $"{DashboardOptions.ApiKeyHeader}={dashboard.OtlpApiKey}";
        }
        if (environment.IsDevelopment())
        {
            foreach (var name in new[] { "OTEL_BLRP_SCHEDULE_DELAY", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_METRIC_EXPORT_INTERVAL" })
            {
                variables[name] = "1000";
            }
            variables["OTEL_TRACES_SAMPLER"] = "always_on";
            variables["OTEL_METRICS_EXEMPLAR_FILTER"] = "trace_based";
            variables["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true";
            variables["OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION"] = "true";
            variables["OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION"] = "true";
        }
        variables["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "true";
        variables["LOGGING__CONSOLE__FORMATTERNAME"] = "simple";
        foreach (var (name, value) in project.Environment)
        {
            variables[name] = value;
        }
        // The profile's variables are added where the model is silent ("add if missing").
        foreach (var (name, value) in profile?.EnvironmentVariables ?? new Dictionary<string, string?>())
        {
            variables.TryAdd(name, value);
        }
        return variables;
    }

    private void AddStop(IResource resource, Func<Task> stop)
    {
        lock (_stopsLock)
        {
            _stops.Add((resource.Name, stop));
        }
    }

    private void Publish(IResource resource, ResourceSnapshot snapshot) => notifications.Publish(resource, snapshot);

    private void PrintState(IResource resource, ResourceSnapshot snapshot)
    {
        var exit = snapshot.ExitCode is { } code && snapshot.IsTerminal ? $" (exit code {code})" : "";
        var reason = snapshot.Reason is null ? "" : $": {snapshot.Reason}";
        var endpoint = resource is ProjectResource { HttpEndpoint: { } url } && snapshot.State == KnownResourceStates.Running && snapshot.Health == HealthStatus.Healthy
            ? $" at {url}"
            : "";
        lock (_console)
        {
            Console.WriteLine($"AppHost   | {resource.Name,-10} {snapshot.DisplayState}{exit}{endpoint}{reason}");
        }
    }

    private void Echo(string resourceName, LogLine line)
    {
        lock (_console)
        {
            (line.IsError ? Console.Error : Console.Out).WriteLine($"{resourceName,-10}| {line.Text}");
        }
    }
}
