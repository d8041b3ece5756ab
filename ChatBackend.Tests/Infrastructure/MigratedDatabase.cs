namespace ChatBackend.Tests.Infrastructure;

/// <summary>One migrated database for the tests of a class (IClassFixture) that start their own APIs on it.</summary>
public sealed class MigratedDatabase(DatabaseFixture database) : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync() => ConnectionString = await database.CreateMigratedDatabaseAsync("db");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
