using MySqlConnector;

namespace ChatBackend.AppHost.MySql;

/// <summary>
/// A database of a <see cref="MySqlServerResource"/>, as Aspire.Hosting.MySql's; the migrator creates it. (An existing
/// server is not one of ours: <c>AddConnectionString</c>, chosen in Program.cs.)
/// </summary>
public sealed class MySqlDatabaseResource(string name, string databaseName, MySqlServerResource parent)
    : Resource(name), IResourceWithParent<MySqlServerResource>, IResourceWithConnectionString
{
    public MySqlServerResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};{new MySqlConnectionStringBuilder { Database = DatabaseName }.ConnectionString}");

    /// <summary><c>mysql://{user}:{password}@{host}:{port}/{database}</c></summary>
    public ReferenceExpression UriExpression => Parent.BuildUri(DatabaseName);

    /// <summary><c>jdbc:mysql://{host}:{port}/{database}</c>, without credentials.</summary>
    public ReferenceExpression JdbcConnectionString => Parent.BuildJdbcConnectionString(DatabaseName);

    IEnumerable<KeyValuePair<string, ReferenceExpression>> IResourceWithConnectionString.GetConnectionProperties() =>
        Parent.CombineProperties([
            new("DatabaseName", ReferenceExpression.Create($"{DatabaseName}")),
            new("Uri", UriExpression),
            new("JdbcConnectionString", JdbcConnectionString),
        ]);
}
