using ChatBackend.DbMigrator;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>One private database server for the whole run, shared by every test class in the collection.</summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    private MySqlServer? _server;

    public MySqlServer Server => _server ?? throw new InvalidOperationException("The database server has not started.");

    public async Task InitializeAsync() => _server = await MySqlServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A new database with the schema applied by the migrator; returns its connection string.</summary>
    public async Task<string> CreateMigratedDatabaseAsync(string prefix)
    {
        var connectionString = Server.ConnectionString(await Server.CreateDatabaseAsync(prefix));
        await MigrateAsync(connectionString);
        return connectionString;
    }

    public static async Task MigrateAsync(string connectionString)
    {
        await using var dataSource = new MySqlDataSource(connectionString);
        var migrator = new DatabaseMigrator(
            dataSource,
            Options.Create(new MigratorOptions { ServerWaitTimeout = TimeSpan.FromSeconds(30) }),
            NullLogger<DatabaseMigrator>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await migrator.MigrateAsync(timeout.Token);
    }
}

[CollectionDefinition(Name)]
public sealed class DatabaseCollection : ICollectionFixture<DatabaseFixture>
{
    public const string Name = "database";
}
