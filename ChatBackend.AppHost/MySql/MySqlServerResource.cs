namespace ChatBackend.AppHost.MySql;

/// <summary>
/// A MySQL server, with Aspire.Hosting.MySql's members and connection strings. It is an executable resource: DCP runs
/// either a local <c>mariadbd</c>/<c>mysqld</c> or, when a container runtime answers, <c>docker|podman run</c> of
/// Aspire's MySQL image (see <see cref="MySqlServerMode"/>); in publish mode it is written as that image's container.
/// </summary>
public sealed class MySqlServerResource : ExecutableResource, IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";
    internal const string DefaultUserName = "root";

    private readonly List<MySqlDatabaseResource> _databases = [];

    public MySqlServerResource(string name, ParameterResource password, MySqlServerMode mode, string command, string workingDirectory)
        : base(name, command, workingDirectory)
    {
        PrimaryEndpoint = new(this, PrimaryEndpointName);
        PasswordParameter = password;
        Mode = mode;
    }

    public EndpointReference PrimaryEndpoint { get; }

    public EndpointReferenceExpression Host => PrimaryEndpoint.Property(EndpointProperty.Host);

    public EndpointReferenceExpression Port => PrimaryEndpoint.Property(EndpointProperty.Port);

    public ParameterResource PasswordParameter { get; set; }

    /// <summary>Its data volume (WithDataVolume), or none.</summary>
    public MySqlDataVolumeAnnotation? DataVolume => Annotations.OfType<MySqlDataVolumeAnnotation>().LastOrDefault();

    /// <summary>
    /// The image a container of this server runs, and a deployment writes: <c>AppHost:MySqlImage</c>, else Aspire's
    /// (<see cref="MySqlContainerImageTags.FullName"/>). Any image with the official images' contract will do
    /// (MYSQL_ROOT_PASSWORD, data in /var/lib/mysql).
    /// </summary>
    public string Image { get; init; } = MySqlContainerImageTags.FullName;

    /// <summary>How this server runs: a local binary, a container, or (publish mode) a container to be deployed.</summary>
    public MySqlServerMode Mode { get; }

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Server={Host};Port={Port};User ID={DefaultUserName};Password={PasswordParameter}");

    /// <summary><c>mysql://{user}:{password}@{host}:{port}</c></summary>
    public ReferenceExpression UriExpression => BuildUri();

    /// <summary><c>jdbc:mysql://{host}:{port}</c>, without credentials.</summary>
    public ReferenceExpression JdbcConnectionString => BuildJdbcConnectionString();

    /// <summary>The resource name of each database and its database name.</summary>
    public IReadOnlyDictionary<string, string> Databases => _databases.ToDictionary(database => database.Name, database => database.DatabaseName);

    internal IReadOnlyList<MySqlDatabaseResource> DatabaseResources => _databases;

    internal void AddDatabase(MySqlDatabaseResource database) => _databases.Add(database);

    internal ReferenceExpression BuildUri(string? databaseName = null)
    {
        var builder = new ReferenceExpressionBuilder();
        builder.AppendLiteral("mysql://");
        builder.Append($"{DefaultUserName:uri}:{PasswordParameter:uri}@{Host}:{Port}");
        if (databaseName is not null)
        {
            builder.Append($"/{databaseName:uri}");
        }
        return builder.Build();
    }

    internal ReferenceExpression BuildJdbcConnectionString(string? databaseName = null)
    {
        var builder = new ReferenceExpressionBuilder();
        builder.AppendLiteral("jdbc:mysql://");
        builder.Append($"{Host}");
        builder.AppendLiteral(":");
        builder.Append($"{Port}");
        if (databaseName is not null)
        {
            builder.AppendLiteral("/");
            builder.Append($"{databaseName:uri}");
        }
        return builder.Build();
    }

    IEnumerable<KeyValuePair<string, ReferenceExpression>> IResourceWithConnectionString.GetConnectionProperties()
    {
        yield return new("Host", ReferenceExpression.Create($"{Host}"));
        yield return new("Port", ReferenceExpression.Create($"{Port}"));
        yield return new("Username", ReferenceExpression.Create($"{DefaultUserName}"));
        yield return new("Password", ReferenceExpression.Create($"{PasswordParameter}"));
        yield return new("Uri", UriExpression);
        yield return new("JdbcConnectionString", JdbcConnectionString);
    }
}

public enum MySqlServerMode
{
    /// <summary>A <c>mariadbd</c> or <c>mysqld</c> found on this machine, in a private data directory.</summary>
    LocalBinary,

    /// <summary>Aspire's MySQL image, run by the docker or podman CLI that answered.</summary>
    Container,

    /// <summary>Publish mode: the image, for a deployment to run.</summary>
    Published,
}
