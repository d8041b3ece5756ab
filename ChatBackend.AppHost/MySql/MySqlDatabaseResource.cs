using MySqlConnector;

namespace ChatBackend.AppHost.MySql;

/// <summary>
/// A database of a <see cref="MySqlServerResource"/>, as Aspire.Hosting.MySql's: created once the server is ready,
/// healthy once it can be opened. Given an existing server (<c>ConnectionStrings:{name}</c> in the AppHost's
/// configuration), its connection string is that one and no server runs.
/// </summary>
public sealed class MySqlDatabaseResource(string name, string databaseName, MySqlServerResource parent, string? existingConnectionString = null)
    : Resource(name), IResourceWithParent<MySqlServerResource>, IResourceWithConnectionString
{
    public MySqlServerResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    /// <summary>The existing server's connection string from the AppHost's configuration, when one is given.</summary>
    public string? ExistingConnectionString { get; } = existingConnectionString;

    public ReferenceExpression ConnectionStringExpression => ExistingConnectionString is { } existing
        ? ReferenceExpression.Create($"{existing}")
        : ReferenceExpression.Create($"{Parent};{new MySqlConnectionStringBuilder { Database = DatabaseName }.ConnectionString}");

    /// <summary><c>mysql://{user}:{password}@{host}:{port}/{database}</c></summary>
    public ReferenceExpression UriExpression => Parent.BuildUri(DatabaseName);

    /// <summary><c>jdbc:mysql://{host}:{port}/{database}</c>, without credentials.</summary>
    public ReferenceExpression JdbcConnectionString => Parent.BuildJdbcConnectionString(DatabaseName);

    IEnumerable<KeyValuePair<string, ReferenceExpression>> IResourceWithConnectionString.GetConnectionProperties() =>
        ExistingConnectionString is { } existing
            ? ExistingProperties(new MySqlConnectionStringBuilder(existing))
            : Parent.CombineProperties([
                new("DatabaseName", ReferenceExpression.Create($"{DatabaseName}")),
                new("Uri", UriExpression),
                new("JdbcConnectionString", JdbcConnectionString),
            ]);

    // The same properties, read from the configured connection string.
    private static IEnumerable<KeyValuePair<string, ReferenceExpression>> ExistingProperties(MySqlConnectionStringBuilder parts)
    {
        var port = parts.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var database = parts.Database;
        yield return new("Host", ReferenceExpression.Create($"{parts.Server}"));
        yield return new("Port", ReferenceExpression.Create($"{port}"));
        yield return new("Username", ReferenceExpression.Create($"{parts.UserID}"));
        yield return new("Password", ReferenceExpression.Create($"{parts.Password}"));
        yield return new("Uri", ReferenceExpression.Create(
            $"mysql://{Uri.EscapeDataString(parts.UserID)}:{Uri.EscapeDataString(parts.Password)}@{parts.Server}:{port}/{Uri.EscapeDataString(database)}"));
        yield return new("JdbcConnectionString", ReferenceExpression.Create($"jdbc:mysql://{parts.Server}:{port}/{Uri.EscapeDataString(database)}"));
        yield return new("DatabaseName", ReferenceExpression.Create($"{database}"));
    }
}
