namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// One Galera cluster for a test class (IClassFixture), a migrated database on it, and the fake model. The tests
/// start the APIs they need on the nodes or on haproxy; each test leaves the cluster whole (three nodes, Synced).
/// </summary>
public sealed class GaleraFixture : IAsyncLifetime
{
    public const string Database = "chatdb";

    public GaleraCluster Cluster { get; private set; } = null!;

    public FakeOpenAIServer Fake { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Fake = await FakeOpenAIServer.StartAsync();
        Cluster = await GaleraCluster.StartAsync();
        await DatabaseFixture.MigrateAsync(Cluster.NodeConnectionString(1, Database));
    }

    /// <summary>An API (its own process, as deployed) on <paramref name="connectionString"/>, answered by the fake model.</summary>
    public Task<ApiProcess> StartApiAsync(string connectionString) => ApiProcess.StartAsync(connectionString, Fake.OpenAIConnectionString());

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
        if (Fake is not null)
        {
            await Fake.DisposeAsync();
        }
    }
}
