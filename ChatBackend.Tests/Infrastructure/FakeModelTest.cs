using MySqlConnector;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// A test whose API talks, through the real OpenAI SDK, to its own fake OpenAI-compatible server, over its own
/// freshly migrated database.
/// </summary>
public abstract class FakeModelTest(DatabaseFixture database, string databasePrefix) : IAsyncLifetime
{
    private readonly List<ApiFactory> _apis = [];

    protected FakeOpenAIServer Fake { get; private set; } = null!;

    protected string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Fake = await FakeOpenAIServer.StartAsync();
        ConnectionString = await database.CreateMigratedDatabaseAsync(databasePrefix);
    }

    /// <summary>
    /// An API using the fake over the OpenAI protocol, with fast retries; <paramref name="settings"/> add to or
    /// override that.
    /// </summary>
    protected HttpClient StartApi(Dictionary<string, string?>? settings = null) => StartApiFactory(settings).CreateHttpClient();

    protected ApiFactory StartApiFactory(
        Dictionary<string, string?>? settings = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:openai"] = Fake.OpenAIConnectionString(),
            ["Chat:RetryDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }
        var api = new ApiFactory(ConnectionString, settings: all, configureServices: configureServices);
        _apis.Add(api);
        return api;
    }

    /// <summary>One number from this test's database; <paramref name="value"/> is @mid when a string, else @user.</summary>
    protected async Task<long> ScalarAsync(string sql, object value)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue(value is string ? "@mid" : "@user", value);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task DisposeAsync()
    {
        foreach (var api in _apis)
        {
            await api.DisposeAsync();
        }
        await Fake.DisposeAsync();
    }
}
