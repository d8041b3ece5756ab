using Aspire.Hosting.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

public interface IDistributedApplicationBuilder
{
    IConfigurationManager Configuration { get; }

    IHostEnvironment Environment { get; }

    IList<IResource> Resources { get; }

    IResourceBuilder<T> AddResource<T>(T resource) where T : IResource;

    DistributedApplication Build();
}

internal sealed class DistributedApplicationBuilder : IDistributedApplicationBuilder
{
    public const string PublisherKey = "Publishing:Publisher";
    public const string OutputPathKey = "Publishing:OutputPath";

    private readonly HostApplicationBuilder _host;

    public DistributedApplicationBuilder(string[] args)
    {
        _host = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        _host.Configuration.AddUserSecrets(typeof(DistributedApplicationBuilder).Assembly, optional: true);
        // Aspire's publishing switches: --publisher manifest --output-path ./aspire-manifest.json
        _host.Configuration.AddCommandLine(args, new Dictionary<string, string>
        {
            ["--publisher"] = PublisherKey,
            ["--output-path"] = OutputPathKey,
        });
        _host.Logging.SetMinimumLevel(LogLevel.Warning);
        _host.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromMinutes(1));
    }

    public IConfigurationManager Configuration => _host.Configuration;

    public IHostEnvironment Environment => _host.Environment;

    public IList<IResource> Resources { get; } = [];

    public IResourceBuilder<T> AddResource<T>(T resource) where T : IResource
    {
        if (Resources.Any(existing => string.Equals(existing.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' exists already.");
        }
        Resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    public DistributedApplication Build() =>
        DistributedApplicationTestingBuilder.InterceptBuild(this) ?? BuildCore();

    internal DistributedApplication BuildCore()
    {
        var model = new DistributedApplicationModel([.. Resources]);
        _host.Services.AddSingleton(model);
        _host.Services.AddSingleton<ResourceNotificationService>();
        _host.Services.AddSingleton<ResourceLoggerService>();
        _host.Services.AddSingleton<ProcessLauncher>();
        _host.Services.AddSingleton<MySqlServerLauncher>();
        _host.Services.AddSingleton<ManifestPublisher>();
        _host.Services.AddSingleton<DockerComposePublisher>();
        _host.Services.AddSingleton<KubernetesPublisher>();
        _host.Services.AddSingleton(DashboardOptions.From(_host.Configuration));
        _host.Services.AddSingleton<Orchestrator>();
        // The dashboard first: its OTLP receiver is listening when the first resource starts.
        _host.Services.AddSingleton<DashboardServer>();
        _host.Services.AddHostedService(services => services.GetRequiredService<DashboardServer>());
        _host.Services.AddHostedService(services => services.GetRequiredService<Orchestrator>());
        return new DistributedApplication(_host.Build());
    }
}

/// <summary>The resources of the application, in the order they were added.</summary>
public sealed record DistributedApplicationModel(IReadOnlyList<IResource> Resources);

/// <summary>The running application: its resources, their states and their console logs.</summary>
public sealed class DistributedApplication(IHost host) : IAsyncDisposable
{
    public static IDistributedApplicationBuilder CreateBuilder(string[] args) => new DistributedApplicationBuilder(args);

    public IServiceProvider Services => host.Services;

    public ResourceNotificationService ResourceNotifications => host.Services.GetRequiredService<ResourceNotificationService>();

    public ResourceLoggerService ResourceLogs => host.Services.GetRequiredService<ResourceLoggerService>();

    public IReadOnlyList<IResource> Resources => host.Services.GetRequiredService<DistributedApplicationModel>().Resources;

    /// <summary>
    /// Runs until Ctrl+C or SIGTERM, then stops every resource in reverse order; or, with <c>--publisher</c>, writes
    /// the model for a deployment target and exits.
    /// </summary>
    public void Run() => RunAsync().GetAwaiter().GetResult();

    public Task RunAsync(CancellationToken cancellationToken = default)
    {
        var configuration = host.Services.GetRequiredService<IConfiguration>();
        if (configuration[DistributedApplicationBuilder.PublisherKey] is { Length: > 0 } publisher)
        {
            return PublishAsync(publisher, configuration[DistributedApplicationBuilder.OutputPathKey], cancellationToken);
        }
        // Under a test, the test starts and stops the application; the entry point only waits for that.
        return DistributedApplicationTestingBuilder.IsTesting
            ? Task.Delay(Timeout.Infinite, host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped)
                .ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)
            : host.RunAsync(cancellationToken);
    }

    /// <summary>
    /// Writes the model for <paramref name="publisher"/> to <paramref name="outputPath"/>: <c>manifest</c> (a file,
    /// default ./aspire-manifest.json), <c>docker-compose</c> or <c>kubernetes</c> (a folder, default ./aspire-output).
    /// </summary>
    public async Task PublishAsync(string publisher, string? outputPath, CancellationToken cancellationToken = default)
    {
        var path = Path.GetFullPath(outputPath ?? (publisher == "manifest" ? "aspire-manifest.json" : "aspire-output"));
        switch (publisher)
        {
            case "manifest":
                await host.Services.GetRequiredService<ManifestPublisher>().PublishAsync(path, cancellationToken);
                break;
            case "docker-compose":
                await host.Services.GetRequiredService<DockerComposePublisher>().PublishAsync(path, cancellationToken);
                break;
            case "kubernetes":
                await host.Services.GetRequiredService<KubernetesPublisher>().PublishAsync(path, cancellationToken);
                break;
            default:
                throw new InvalidOperationException(
                    $"Unknown publisher '{publisher}'. The publishers are: manifest, docker-compose, kubernetes.");
        }
        Console.WriteLine($"Published {publisher} to: {path}");
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => host.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken = default) => host.StopAsync(cancellationToken);

    /// <summary>The HTTP endpoint of a project resource, once it has started.</summary>
    public Uri GetEndpoint(string resourceName) =>
        Resources.OfType<ProjectResource>().Single(resource => resource.Name == resourceName).HttpEndpoint
        ?? throw new InvalidOperationException($"'{resourceName}' has no HTTP endpoint yet.");

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}
