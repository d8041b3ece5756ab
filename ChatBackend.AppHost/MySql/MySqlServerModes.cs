using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Aspire.Hosting.Publishing;

namespace ChatBackend.AppHost.MySql;

/// <summary>
/// How a <see cref="MySqlServerResource"/> runs (<see cref="MySqlServerMode"/>): Aspire's MySQL image by the docker or
/// podman CLI, a local mariadbd/mysqld in a private data directory, or, in publish mode, written as that image's container.
/// </summary>
internal static class MySqlServerModes
{
    private const string PasswordVariable = "MYSQL_ROOT_PASSWORD";

    /// <summary>Publish mode: the entry Aspire.Hosting.MySql writes, the image's container with its volume, password and port.</summary>
    public static IResourceBuilder<MySqlServerResource> AsPublished(this IResourceBuilder<MySqlServerResource> builder, int? port)
    {
        var server = builder.Resource;
        return builder
            .WithEndpoint(port: port, targetPort: MySqlContainerImageTags.Port, name: MySqlServerResource.PrimaryEndpointName)
            .WithEnvironment(context => context.EnvironmentVariables[PasswordVariable] = server.PasswordParameter)
            .WithManifestPublishingCallback(context => WriteContainerAsync(context, server));
    }

    public static IResourceBuilder<MySqlServerResource> AsContainer(this IResourceBuilder<MySqlServerResource> builder, int? port)
    {
        var server = builder.Resource;
        var container = $"{server.Name}-{Guid.NewGuid().ToString("N")[..8]}";
        var application = builder.ApplicationBuilder;
        var pullTimeout = application.Configuration[ContainerImage.PullTimeoutSetting] is { Length: > 0 } setting
            ? TimeSpan.Parse(setting, System.Globalization.CultureInfo.InvariantCulture)
            : ContainerImage.DefaultPullTimeout;

        // The image before anything starts: one that cannot be had stops the AppHost with one message.
        application.Eventing.Subscribe<BeforeStartEvent>(async (@event, ct) =>
            await ContainerImage.EnsureAsync(server.Command, server.Image, pullTimeout,
                @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ContainerImage)), ct));

        return builder
            .WithEndpoint(port: port, targetPort: port, name: MySqlServerResource.PrimaryEndpointName, scheme: "tcp", isProxied: false)
            // The password travels in the environment, not on a command line that any process list shows.
            .WithEnvironment(context => context.EnvironmentVariables[PasswordVariable] = server.PasswordParameter)
            .WithArgs(context =>
            {
                context.Args.Add("run");
                context.Args.Add("--rm");
                context.Args.Add($"--name={container}");
                context.Args.Add($"--env={PasswordVariable}");
                context.Args.Add(ReferenceExpression.Create(
                    $"--publish=127.0.0.1:{server.PrimaryEndpoint.Property(EndpointProperty.TargetPort)}:{MySqlContainerImageTags.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
                if (server.DataVolume is { } volume)
                {
                    context.Args.Add($"--volume={volume.Name}:/var/lib/mysql");
                }
                context.Args.Add(server.Image);
            });
    }

    public static IResourceBuilder<MySqlServerResource> AsLocalServer(this IResourceBuilder<MySqlServerResource> builder, string? binary, int? port)
    {
        var server = builder.Resource;
        var application = builder.ApplicationBuilder;
        LocalMySqlServer? local = null;
        LocalMySqlServer Local() => local ??= new LocalMySqlServer(binary!, server.DataVolume is null
            ? LocalMySqlServer.TemporaryHome(server.Name)
            : Path.Combine(LocalMySqlServer.DataRoot(application.Configuration), server.Name));

        // Nothing to run: one message that names the three ways.
        application.Eventing.Subscribe<BeforeStartEvent>((_, _) => binary is null
            ? throw new DistributedApplicationException(NoServerMessage(server))
            : Task.CompletedTask);

        return builder
            .WithEndpoint(port: port, targetPort: port, name: MySqlServerResource.PrimaryEndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                foreach (var argument in Local().Arguments())
                {
                    context.Args.Add(argument);
                }
                context.Args.Add(ReferenceExpression.Create($"--port={server.PrimaryEndpoint.Property(EndpointProperty.TargetPort)}"));
            })
            .OnBeforeResourceStarted(async (server, @event, ct) =>
            {
                var logger = @event.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
                var password = await server.PasswordParameter.GetValueAsync(ct);
                await Local().PrepareAsync(password!, line => logger.LogInformation("{Line}", line), ct);
            })
            .OnResourceReady((_, _, _) =>
            {
                Local().PasswordSet();
                return Task.CompletedTask;
            })
            .OnResourceStopped((server, @event, _) =>
            {
                // Without a data volume the data lives as long as the AppHost runs.
                if (server.DataVolume is null && local is not null
                    && @event.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested)
                {
                    Directory.Delete(local.Home, recursive: true);
                }
                return Task.CompletedTask;
            });
    }

    private static string NoServerMessage(MySqlServerResource server)
    {
        var database = server.DatabaseResources.FirstOrDefault()?.Name ?? server.Name;
        return $"MySQL cannot start: no container runtime answered (docker or podman), no mysqld or mariadbd was found on PATH " +
            $"or in /usr/sbin, and ConnectionStrings:{database} is not set in the AppHost's configuration. " +
            $"Install a server (sudo apt-get install mariadb-server), start Docker or Podman, or point the AppHost at an existing server: " +
            $"dotnet user-secrets --project ChatBackend.AppHost set ConnectionStrings:{database} \"Server=HOST;Port=3306;User ID=USER;Password=PASSWORD;Database={database}\"";
    }

    private static async Task WriteContainerAsync(ManifestPublishingContext context, MySqlServerResource server)
    {
        context.Writer.WriteString("type", "container.v0");
        context.WriteConnectionString(server);
        context.Writer.WriteString("image", server.Image);
        if (server.DataVolume is { } volume)
        {
            context.Writer.WriteStartArray("volumes");
            context.Writer.WriteStartObject();
            context.Writer.WriteString("name", volume.Name);
            context.Writer.WriteString("target", "/var/lib/mysql");
            context.Writer.WriteBoolean("readOnly", false);
            context.Writer.WriteEndObject();
            context.Writer.WriteEndArray();
        }
        await context.WriteEnvironmentVariablesAsync(server);
        context.WriteBindings(server);
    }
}
