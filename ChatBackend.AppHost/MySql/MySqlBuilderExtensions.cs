using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatBackend.AppHost.MySql;

/// <summary>
/// MySQL for the app model with Aspire.Hosting.MySql's API (<c>AddMySql</c>, <c>AddDatabase</c>, <c>WithDataVolume</c>),
/// which this feed does not serve: swapping in the package means deleting this folder, its <c>using</c> and
/// <c>Deployment/</c>, which writes these resources. Beyond it, the server runs without a container runtime (a local
/// mariadbd/mysqld; <see cref="MySqlServerModes"/>). An existing server is no resource of ours: Program.cs chooses
/// <c>AddConnectionString</c> for it.
/// </summary>
public static class MySqlBuilderExtensions
{
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
        var image = builder.Configuration[MySqlContainerImageTags.ImageSetting] is { Length: > 0 } configured ? configured : MySqlContainerImageTags.FullName;
        var server = new MySqlServerResource(name, passwordParameter, mode, runtime ?? binary ?? "mysqld", builder.AppHostDirectory) { Image = image };

        var resource = builder.AddResource(server)
            .WithIconName("DatabaseMultiple")
            .WithPingHealthCheck();

        return mode switch
        {
            MySqlServerMode.Published => resource.AsPublished(port),
            MySqlServerMode.Container => resource.AsContainer(port),
            _ => resource.AsLocalServer(binary, port),
        };
    }

    /// <summary>A database of the server, healthy once its server answers; the migrator creates it.</summary>
    public static IResourceBuilder<MySqlDatabaseResource> AddDatabase(this IResourceBuilder<MySqlServerResource> builder,
        [ResourceName] string name, string? databaseName = null)
    {
        var database = new MySqlDatabaseResource(name, databaseName ?? name, builder.Resource);
        builder.Resource.AddDatabase(database);
        return builder.ApplicationBuilder.AddResource(database)
            .WithIconName("Database")
            .WithPingHealthCheck()
            // Aspire moves a container's children with it; an executable's we move ourselves.
            .OnInitializeResource((database, @event, ct) =>
            {
                var stopping = @event.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
                _ = FollowParentAsync(database, @event.Notifications, stopping);
                return Task.CompletedTask;
            });
    }

    /// <summary>
    /// The server's data outlives the run: a named volume for a container (Aspire's name for it), a data directory under
    /// <c>${XDG_DATA_HOME:-~/.local/share}/ChatBackend/AppHost/{name}/</c> for a local server.
    /// </summary>
    public static IResourceBuilder<MySqlServerResource> WithDataVolume(this IResourceBuilder<MySqlServerResource> builder, string? name = null) =>
        builder.WithAnnotation(new MySqlDataVolumeAnnotation(name ?? VolumeNameGenerator.Generate(builder, "data")));

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
}

/// <summary>The server keeps its data across runs (WithDataVolume); <see cref="Name"/> is the container volume's.</summary>
public sealed record MySqlDataVolumeAnnotation(string Name) : IResourceAnnotation;
