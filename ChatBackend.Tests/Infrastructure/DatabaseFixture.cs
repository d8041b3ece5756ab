using ChatBackend.DbMigrator;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MySqlConnector;

[assembly: AssemblyFixture(typeof(ChatBackend.Tests.Infrastructure.DatabaseFixture))]

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// One private database server for the whole run (an assembly fixture), on which each test class makes the
/// databases it needs. It starts with the first class that asks for it, so that a run of the unit tests alone
/// starts none.
/// </summary>
public sealed class DatabaseFixture : IAsyncDisposable
{
    private readonly Lazy<Task<MySqlServer>> _server = new(MySqlServer.StartAsync);

    public Task<MySqlServer> ServerAsync() => _server.Value;

    public async ValueTask DisposeAsync()
    {
        if (_server.IsValueCreated)
        {
            await (await _server.Value).DisposeAsync();
        }
    }

    /// <summary>A new database with the schema applied by the migrator; returns its connection string.</summary>
    public async Task<string> CreateMigratedDatabaseAsync(string prefix)
    {
        var server = await ServerAsync();
        var connectionString = server.ConnectionString(await server.CreateDatabaseAsync(prefix));
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
