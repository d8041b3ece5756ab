namespace Aspire.Hosting;

internal sealed class ResourceBuilder<T>(IDistributedApplicationBuilder builder, T resource) : IResourceBuilder<T>
    where T : IResource
{
    public IDistributedApplicationBuilder ApplicationBuilder { get; } = builder;

    public T Resource { get; } = resource;
}

/// <summary>The builder methods of Aspire.Hosting and Aspire.Hosting.MySql that this AppHost uses, with their semantics.</summary>
public static class ResourceBuilderExtensions
{
    /// <summary>A MySQL server; user root, a generated password kept across runs (the <c>{name}-password</c> parameter).</summary>
    public static IResourceBuilder<MySqlServerResource> AddMySql(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddResource(new MySqlServerResource(name));

    /// <summary>Keeps the server's data across runs.</summary>
    public static IResourceBuilder<MySqlServerResource> WithDataVolume(this IResourceBuilder<MySqlServerResource> builder)
    {
        builder.Resource.HasDataVolume = true;
        return builder;
    }

    /// <summary>A database created (IF NOT EXISTS) once the server is ready.</summary>
    public static IResourceBuilder<MySqlDatabaseResource> AddDatabase(
        this IResourceBuilder<MySqlServerResource> builder, string name, string? databaseName = null)
    {
        var database = new MySqlDatabaseResource(name, databaseName ?? name, builder.Resource);
        builder.Resource.Databases.Add(database);
        return builder.ApplicationBuilder.AddResource(database);
    }

    /// <summary>A project, started from its build output with the environment Aspire gives it.</summary>
    public static IResourceBuilder<ProjectResource> AddProject<TProject>(this IDistributedApplicationBuilder builder, string name)
        where TProject : IProjectMetadata, new() =>
        builder.AddResource(new ProjectResource(name, new TProject()));

    /// <summary>An existing resource's connection string, read from the AppHost's <c>ConnectionStrings:{name}</c>.</summary>
    public static IResourceBuilder<ConnectionStringResource> AddConnectionString(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddResource(new ConnectionStringResource(name, builder.Configuration[$"ConnectionStrings:{name}"]));

    /// <summary>
    /// Gives the project <c>ConnectionStrings__{name}</c> and the connection properties. A connection string that is
    /// not set is passed on only if it is set (optional references, like the model's).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReference<T>(this IResourceBuilder<ProjectResource> builder, IResourceBuilder<T> source)
        where T : IResourceWithConnectionString
    {
        builder.Resource.References.Add(source.Resource);
        return builder;
    }

    public static IResourceBuilder<ProjectResource> WithEnvironment(this IResourceBuilder<ProjectResource> builder, string name, string value)
    {
        builder.Resource.Environment[name] = value;
        return builder;
    }

    /// <summary>Waits until the resource runs and is healthy; if it fails instead, this resource never starts.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : Resource
    {
        builder.Resource.Waits.Add(new WaitAnnotation(dependency.Resource, WaitType.WaitUntilHealthy));
        return builder;
    }

    /// <summary>Waits until the resource has ended with <paramref name="exitCode"/>; any other end keeps this one from starting.</summary>
    public static IResourceBuilder<T> WaitForCompletion<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency, int exitCode = 0)
        where T : Resource
    {
        builder.Resource.Waits.Add(new WaitAnnotation(dependency.Resource, WaitType.WaitForCompletion, exitCode));
        return builder;
    }

    public static IResourceBuilder<ProjectResource> WithExternalHttpEndpoints(this IResourceBuilder<ProjectResource> builder)
    {
        builder.Resource.ExternalHttpEndpoints = true;
        return builder;
    }

    /// <summary>The resource is healthy when GET <paramref name="path"/> on its HTTP endpoint answers 200.</summary>
    public static IResourceBuilder<ProjectResource> WithHttpHealthCheck(this IResourceBuilder<ProjectResource> builder, string path)
    {
        builder.Resource.HealthCheckPath = path;
        return builder;
    }
}
