using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Aspire.Hosting.Publishing;
using MySqlConnector;

namespace ChatBackend.AppHost.MySql;

/// <summary>
/// MySQL for the app model with Aspire.Hosting.MySql's API (<c>AddMySql</c>, <c>AddDatabase</c>, <c>WithDataVolume</c>),
/// which this feed does not serve: swapping in the package means deleting this folder and its <c>using</c>. Beyond it,
/// the server runs without a container runtime (a local mariadbd/mysqld), or not at all when the AppHost's
/// configuration names an existing server as <c>ConnectionStrings:{database}</c>.
/// </summary>
public static class MySqlBuilderExtensions
{
    private const string PasswordVariable = "MYSQL_ROOT_PASSWORD";

    /// <summary>A MySQL server whose root password is the generated secret parameter <c>{name}-password</c>.</summary>
    public static IResourceBuilder<MySqlServerResource> AddMySql(this IDistributedApplicationBuilder builder,
        [ResourceName] string name, IResourceBuilder<ParameterResource>? password = null, int? port = null)
    {
        var passwordParameter = password?.Resource ?? ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password");
        var runtime = builder.ExecutionContext.IsRunMode ? ContainerRuntime.Find(builder.Configuration) : null;
        var binary = builder.ExecutionContext.IsRunMode && runtime is null ? LocalMySqlServer.FindBinary(builder.Configuration) : null;
        var mode = builder.ExecutionContext.IsPublishMode ? MySqlServerMode.Published
            : runtime is not null ? MySqlServerMode.Container
            : MySqlServerMode.LocalBinary;
        var command = runtime ?? binary ?? "mysqld";
        var server = new MySqlServerResource(name, passwordParameter, mode, command, builder.AppHostDirectory);

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(server, async (_, ct) =>
            connectionString = await server.ConnectionStringExpression.GetValueAsync(ct));

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheckKey, ct => PingAsync(connectionString, ct));

        var resource = builder.AddResource(server)
            .WithIconName("DatabaseMultiple")
            .WithHealthCheck(healthCheckKey)
            .OnResourceReady(async (server, @event, ct) =>
            {
                var logger = @event.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
                await CreateDatabasesAsync(server.DatabaseResources, connectionString!, logger, ct);
            });

        return mode switch
        {
            MySqlServerMode.Published => resource
                .WithEndpoint(port: port, targetPort: MySqlContainerImageTags.Port, name: MySqlServerResource.PrimaryEndpointName)
                .WithEnvironment(context => context.EnvironmentVariables[PasswordVariable] = server.PasswordParameter)
                .WithManifestPublishingCallback(context => WriteContainerAsync(context, server)),
            MySqlServerMode.Container => resource.AsContainer(port),
            _ => resource.AsLocalServer(binary, port),
        };
    }

    /// <summary>A database of the server, created once the server is ready; healthy once it can be opened.</summary>
    public static IResourceBuilder<MySqlDatabaseResource> AddDatabase(this IResourceBuilder<MySqlServerResource> builder,
        [ResourceName] string name, string? databaseName = null)
    {
        var application = builder.ApplicationBuilder;
        var existing = application.ExecutionContext.IsRunMode ? application.Configuration.GetConnectionString(name) : null;
        var database = new MySqlDatabaseResource(name, databaseName ?? name, builder.Resource, string.IsNullOrWhiteSpace(existing) ? null : existing);
        builder.Resource.AddDatabase(database);

        string? connectionString = null;
        var healthCheckKey = $"{name}_check";
        application.Services.AddHealthChecks().AddAsyncCheck(healthCheckKey, ct => PingAsync(database.ExistingConnectionString ?? connectionString, ct));
        application.Eventing.Subscribe<ConnectionStringAvailableEvent>(database, async (_, ct) =>
            connectionString = await database.ConnectionStringExpression.GetValueAsync(ct));

        var resource = application.AddResource(database)
            .WithIconName("Database")
            .WithHealthCheck(healthCheckKey);

        if (database.ExistingConnectionString is null)
        {
            // Aspire moves a container's children with it; an executable's we move ourselves.
            return resource.OnInitializeResource((database, @event, ct) =>
            {
                var stopping = @event.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
                _ = FollowParentAsync(database, @event.Notifications, stopping);
                return Task.CompletedTask;
            });
        }

        // An existing server: none of ours runs, and the database is there as soon as the AppHost is. A database's
        // health includes its server's, and a wait for it is a wait for its server too (WaitFor adds both): those go
        // with the server.
        application.Resources.Remove(builder.Resource);
        foreach (var check in builder.Resource.Annotations.OfType<HealthCheckAnnotation>().ToList())
        {
            builder.Resource.Annotations.Remove(check);
        }
        application.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            foreach (var resource in @event.Model.Resources)
            {
                foreach (var wait in resource.Annotations.OfType<WaitAnnotation>().Where(wait => wait.Resource == builder.Resource).ToList())
                {
                    resource.Annotations.Remove(wait);
                }
            }
            return Task.CompletedTask;
        });
        return resource.OnInitializeResource(async (database, @event, ct) =>
        {
            var parts = new MySqlConnectionStringBuilder(database.ExistingConnectionString!);
            @event.Logger.LogInformation("Using an existing server at {Server}:{Port} (ConnectionStrings:{Name} in the AppHost's configuration).",
                parts.Server, parts.Port, database.Name);
            await CreateDatabasesAsync([database], new MySqlConnectionStringBuilder(database.ExistingConnectionString!) { Database = "" }.ConnectionString, @event.Logger, ct);
            await @event.Notifications.PublishUpdateAsync(database, snapshot => snapshot with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
            });
        });
    }

    /// <summary>
    /// The server's data outlives the run: a named volume for a container (Aspire's name for it), a data directory under
    /// <c>${XDG_DATA_HOME:-~/.local/share}/ChatBackend/AppHost/{name}/</c> for a local server.
    /// </summary>
    public static IResourceBuilder<MySqlServerResource> WithDataVolume(this IResourceBuilder<MySqlServerResource> builder, string? name = null) =>
        builder.WithAnnotation(new MySqlDataVolumeAnnotation(name ?? VolumeNameGenerator.Generate(builder, "data")));

    private static IResourceBuilder<MySqlServerResource> AsContainer(this IResourceBuilder<MySqlServerResource> builder, int? port)
    {
        var server = builder.Resource;
        var container = $"{server.Name}-{Guid.NewGuid().ToString("N")[..8]}";
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
                context.Args.Add(MySqlContainerImageTags.FullName);
            });
    }

    private static IResourceBuilder<MySqlServerResource> AsLocalServer(this IResourceBuilder<MySqlServerResource> builder, string? binary, int? port)
    {
        var server = builder.Resource;
        var application = builder.ApplicationBuilder;
        LocalMySqlServer? local = null;
        LocalMySqlServer Local() => local ??= new LocalMySqlServer(binary!, server.DataVolume is null
            ? LocalMySqlServer.TemporaryHome(server.Name)
            : Path.Combine(LocalMySqlServer.DataRoot(application.Configuration), server.Name));

        // Nothing to run and no existing server configured: one message that names the three ways.
        application.Eventing.Subscribe<BeforeStartEvent>((_, _) => binary is null && application.Resources.Contains(server)
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

    // The entry Aspire.Hosting.MySql writes: the image's container with its volume, password and port.
    private static async Task WriteContainerAsync(ManifestPublishingContext context, MySqlServerResource server)
    {
        context.Writer.WriteString("type", "container.v0");
        context.WriteConnectionString(server);
        context.Writer.WriteString("image", MySqlContainerImageTags.FullName);
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

    private static async Task FollowParentAsync(MySqlDatabaseResource database, ResourceNotificationService notifications, CancellationToken stopping)
    {
        try
        {
            await foreach (var update in notifications.WatchAsync(stopping))
            {
                if (update.Resource == database.Parent)
                {
                    await notifications.PublishUpdateAsync(database, snapshot => snapshot with
                    {
                        State = update.Snapshot.State,
                        StartTimeStamp = update.Snapshot.StartTimeStamp,
                        StopTimeStamp = update.Snapshot.StopTimeStamp,
                    });
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The AppHost stops.
        }
    }

    private static async Task CreateDatabasesAsync(IEnumerable<MySqlDatabaseResource> databases, string serverConnectionString, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new MySqlConnection(new MySqlConnectionStringBuilder(serverConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            foreach (var database in databases)
            {
                var name = database.ExistingConnectionString is { } existing ? new MySqlConnectionStringBuilder(existing).Database : database.DatabaseName;
                await using var command = connection.CreateCommand();
                command.CommandText = $"CREATE DATABASE IF NOT EXISTS {new MySqlCommandBuilder().QuoteIdentifier(name)}";
                await command.ExecuteNonQueryAsync(cancellationToken);
                logger.LogInformation("Database {Database} is there.", name);
            }
        }
        catch (MySqlException exception)
        {
            // The database's health check then says so too; the server's own message, no stack trace.
            logger.LogError("Could not create the databases: {Message}", exception.Message);
        }
    }

    // COM_PING on a fresh connection: "running" is not "answering". The message only, not the exception: the
    // dashboard logs a failed check at every poll.
    private static async Task<HealthCheckResult> PingAsync(string? connectionString, CancellationToken cancellationToken)
    {
        if (connectionString is null)
        {
            return HealthCheckResult.Unhealthy("The connection string is not known yet.");
        }
        try
        {
            var builder = new MySqlConnectionStringBuilder(connectionString) { Pooling = false, ConnectionTimeout = 5 };
            await using var connection = new MySqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            return await connection.PingAsync(cancellationToken) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The server did not answer a ping.");
        }
        catch (MySqlException exception)
        {
            return HealthCheckResult.Unhealthy(exception.Message);
        }
    }
}

/// <summary>The server keeps its data across runs (WithDataVolume); <see cref="Name"/> is the container volume's.</summary>
public sealed record MySqlDataVolumeAnnotation(string Name) : IResourceAnnotation;
