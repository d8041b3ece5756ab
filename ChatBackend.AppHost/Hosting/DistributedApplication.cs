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
    private readonly HostApplicationBuilder _host;

    public DistributedApplicationBuilder(string[] args)
    {
        _host = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        _host.Configuration.AddUserSecrets(typeof(DistributedApplicationBuilder).Assembly, optional: true);
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
        _host.Services.AddHostedService<Orchestrator>();
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

    /// <summary>Runs until Ctrl+C or SIGTERM, then stops every resource in reverse order.</summary>
    public void Run() => RunAsync().GetAwaiter().GetResult();

    // Under a test, the test starts and stops the application; the entry point only waits for that.
    public Task RunAsync(CancellationToken cancellationToken = default) =>
        DistributedApplicationTestingBuilder.IsTesting
            ? Task.Delay(Timeout.Infinite, host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped)
                .ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)
            : host.RunAsync(cancellationToken);

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
