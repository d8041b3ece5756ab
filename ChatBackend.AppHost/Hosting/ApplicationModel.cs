using Microsoft.Extensions.Configuration;
using MySqlConnector;

namespace Aspire.Hosting;

// The application model: resources and what is said of them, with Aspire's names (Aspire.Hosting.ApplicationModel),
// so that Program.cs reads as an Aspire AppHost and moving to the real packages replaces this folder only.

/// <summary>A project the AppHost can start: the generated <c>Projects.*</c> classes implement it, as Aspire's do.</summary>
public interface IProjectMetadata
{
    string ProjectPath { get; }

    /// <summary>The built assembly (not in Aspire, which starts projects with <c>dotnet run</c>).</summary>
    string TargetPath { get; }
}

public interface IResource
{
    string Name { get; }
}

/// <summary>A resource that others reference by its connection string (<c>ConnectionStrings__{name}</c>).</summary>
public interface IResourceWithConnectionString : IResource
{
    /// <summary>The connection string once the resource runs; null when it has none (an unset connection string).</summary>
    string? ConnectionString { get; }

    /// <summary>The connection properties (13.0+): <c>{NAME}_{PROPERTY}</c> variables.</summary>
    IReadOnlyDictionary<string, string> ConnectionProperties { get; }
}

public interface IResourceBuilder<out T> where T : IResource
{
    IDistributedApplicationBuilder ApplicationBuilder { get; }

    T Resource { get; }
}

/// <summary>What a resource waits for before it starts.</summary>
public sealed record WaitAnnotation(IResource Resource, WaitType Type, int ExitCode = 0);

public enum WaitType
{
    /// <summary>Running and healthy (WaitFor).</summary>
    WaitUntilHealthy,

    /// <summary>Ended with the expected exit code (WaitForCompletion).</summary>
    WaitForCompletion,
}

public abstract class Resource(string name) : IResource
{
    public string Name { get; } = name;

    public List<WaitAnnotation> Waits { get; } = [];

    public override string ToString() => Name;
}

/// <summary>A MySQL server: a container, a local server binary, or an existing server (see MySqlServerLauncher).</summary>
public sealed class MySqlServerResource(string name) : Resource(name), IResourceWithConnectionString
{
    public const string Image = "docker.io/library/mysql";
    public const string Tag = "9.6";
    public const int TargetPort = 3306;

    public List<MySqlDatabaseResource> Databases { get; } = [];

    /// <summary>Whether its data outlives the run (WithDataVolume).</summary>
    public bool HasDataVolume { get; set; }

    /// <summary>Set when the server runs: where it listens and with which password.</summary>
    public string Host { get; set; } = "localhost";

    public int? Port { get; set; }

    public string? Password { get; set; }

    /// <summary>Set instead of Port and Password when the server is an existing one.</summary>
    public string? ExistingConnectionString { get; set; }

    public string? ConnectionString => ExistingConnectionString is { } existing
        ? ServerPart(existing)
        : Port is { } port ? ServerConnectionString(Host, port.ToString(System.Globalization.CultureInfo.InvariantCulture), Password!) : null;

    public IReadOnlyDictionary<string, string> ConnectionProperties => Properties(ConnectionString, database: null);

    /// <summary>An existing server's connection string given in the AppHost's configuration for one of its databases.</summary>
    public string? ConfiguredConnectionString(IConfiguration configuration) =>
        Databases.Select(database => configuration[$"ConnectionStrings:{database.Name}"]).FirstOrDefault(value => !string.IsNullOrWhiteSpace(value));

    /// <summary>Aspire's MySQL server connection string; the parts may be values or a deployment's placeholders.</summary>
    public static string ServerConnectionString(string host, string port, string password) =>
        $"Server={host};Port={port};User ID=root;Password={password}";

    /// <summary>
    /// Aspire's connection properties of a MySQL reference (13.0+), in its order: HOST, PORT, USERNAME, PASSWORD, URI
    /// (with the password as it must appear in a URI), JDBCCONNECTIONSTRING, and DATABASENAME for a database. The parts
    /// may be values or a deployment's placeholders.
    /// </summary>
    public static List<KeyValuePair<string, string>> PropertiesOf(
        string host, string port, string user, string password, string uriPassword, string? database)
    {
        var suffix = database is null ? "" : $"/{database}";
        List<KeyValuePair<string, string>> properties =
        [
            new("HOST", host),
            new("PORT", port),
            new("USERNAME", user),
            new("PASSWORD", password),
            new("URI", $"mysql://{user}:{uriPassword}@{host}:{port}{suffix}"),
            new("JDBCCONNECTIONSTRING", $"jdbc:mysql://{host}:{port}{suffix}"),
        ];
        if (database is not null)
        {
            properties.Add(new("DATABASENAME", database));
        }
        return properties;
    }

    internal static string ServerPart(string connectionString) =>
        new MySqlConnectionStringBuilder(connectionString) { Database = "" }.ConnectionString;

    internal static IReadOnlyDictionary<string, string> Properties(string? connectionString, string? database)
    {
        if (connectionString is null)
        {
            return new Dictionary<string, string>();
        }
        var parts = new MySqlConnectionStringBuilder(connectionString);
        return PropertiesOf(parts.Server, parts.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), parts.UserID,
            parts.Password, Uri.EscapeDataString(parts.Password), database).ToDictionary();
    }
}

/// <summary>A resource's or parameter's name as an environment variable name: MYSQL_PASSWORD for mysql-password.</summary>
public static class EnvironmentNames
{
    public static string Of(string name) => name.ToUpperInvariant().Replace('-', '_');
}

/// <summary>A database of a MySQL server, created when the server is ready (Aspire 9.3+).</summary>
public sealed class MySqlDatabaseResource(string name, string databaseName, MySqlServerResource parent)
    : Resource(name), IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;

    public MySqlServerResource Parent { get; } = parent;

    // An existing server's connection string that names its database is passed on as it is.
    public string? ConnectionString =>
        Parent.ExistingConnectionString is { } existing && new MySqlConnectionStringBuilder(existing).Database is { Length: > 0 }
            ? existing
            : Parent.ConnectionString is { } server
                ? $"{server};{new MySqlConnectionStringBuilder { Database = DatabaseName }.ConnectionString}"
                : null;

    public IReadOnlyDictionary<string, string> ConnectionProperties =>
        MySqlServerResource.Properties(ConnectionString, ConnectionString is { } text ? new MySqlConnectionStringBuilder(text).Database : DatabaseName);
}

/// <summary>A .NET project started from its build output.</summary>
public sealed class ProjectResource(string name, IProjectMetadata metadata) : Resource(name)
{
    public IProjectMetadata Metadata { get; } = metadata;

    public List<IResourceWithConnectionString> References { get; } = [];

    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Its HTTP endpoint is meant to be reached from outside (WithExternalHttpEndpoints).</summary>
    public bool ExternalHttpEndpoints { get; set; }

    /// <summary>The path polled for its health (WithHttpHealthCheck), or none.</summary>
    public string? HealthCheckPath { get; set; }

    /// <summary>The URL it serves on, from its launch profile; set when it starts.</summary>
    public Uri? HttpEndpoint { get; set; }

    /// <summary>The environment it was last started with, for the dashboard's details view.</summary>
    public IReadOnlyDictionary<string, string?>? StartedEnvironment { get; set; }
}

/// <summary>A connection string from the AppHost's configuration (AddConnectionString), for an existing resource.</summary>
public sealed class ConnectionStringResource(string name, string? value) : Resource(name), IResourceWithConnectionString
{
    public string? ConnectionString { get; } = string.IsNullOrWhiteSpace(value) ? null : value;

    public IReadOnlyDictionary<string, string> ConnectionProperties { get; } = new Dictionary<string, string>();
}
