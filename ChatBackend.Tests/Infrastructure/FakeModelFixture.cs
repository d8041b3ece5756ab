using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// One fake OpenAI-compatible server and one migrated database shared by the tests of a class (IClassFixture), with the
/// APIs in front of them that the class's tests ask for: one per distinct set of settings, started at the first test
/// that asks and shared by the others.
/// </summary>
public class FakeModelFixture : IAsyncLifetime
{
    private readonly DatabaseFixture _database;
    private readonly string _databasePrefix;
    private readonly ConcurrentDictionary<string, Lazy<ApiFactory>> _apis = new();

    public FakeModelFixture(DatabaseFixture database)
        : this(database, "fake")
    {
    }

    protected FakeModelFixture(DatabaseFixture database, string databasePrefix)
    {
        _database = database;
        _databasePrefix = databasePrefix;
    }

    public FakeOpenAIServer Fake { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Fake = await FakeOpenAIServer.StartAsync();
        ConnectionString = await _database.CreateMigratedDatabaseAsync(_databasePrefix);
    }

    /// <summary>The class's API with these settings (see <see cref="NewApi"/>), started once.</summary>
    public ApiFactory SharedApi(Dictionary<string, string?>? settings = null)
    {
        var key = string.Join(';', (settings ?? []).OrderBy(setting => setting.Key, StringComparer.Ordinal)
            .Select(setting => $"{setting.Key}={setting.Value}"));
        return _apis.GetOrAdd(key, _ => new Lazy<ApiFactory>(() => NewApi(settings))).Value;
    }

    /// <summary>
    /// A new API using the fake over the OpenAI protocol, with fast retries; <paramref name="settings"/> add to or
    /// override that. Whoever asks for it stops it.
    /// </summary>
    public ApiFactory NewApi(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
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
        return new ApiFactory(ConnectionString, settings: all, configureServices: configureServices);
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        foreach (var api in _apis.Values.Where(api => api.IsValueCreated))
        {
            await api.Value.DisposeAsync();
        }
        if (Fake is not null)
        {
            await Fake.DisposeAsync();
        }
    }
}

/// <summary>
/// A test whose API talks, through the real OpenAI SDK, to the class's fake OpenAI-compatible server
/// (<see cref="FakeModelFixture"/>), over the class's database. The fake's script and requests start empty in each test.
/// </summary>
public abstract class FakeModelTest : IAsyncDisposable
{
    private readonly FakeModelFixture _fixture;
    private readonly List<ApiFactory> _ownApis = [];

    protected FakeModelTest(FakeModelFixture fixture)
    {
        _fixture = fixture;
        fixture.Fake.Reset();
    }

    protected FakeOpenAIServer Fake => _fixture.Fake;

    protected string ConnectionString => _fixture.ConnectionString;

    /// <summary>A client of the class's API with these settings, shared with the class's other tests.</summary>
    protected HttpClient StartApi(Dictionary<string, string?>? settings = null) => _fixture.SharedApi(settings).CreateHttpClient();

    /// <summary>A client of an API of this test's own, stopped when the test ends: for a test that stops it or needs two.</summary>
    protected HttpClient StartOwnApi(Dictionary<string, string?>? settings = null) => StartApiFactory(settings).CreateHttpClient();

    /// <summary>An API of this test's own (see <see cref="FakeModelFixture.NewApi"/>), stopped when the test ends.</summary>
    protected ApiFactory StartApiFactory(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        var api = _fixture.NewApi(settings, configureServices);
        _ownApis.Add(api);
        return api;
    }

    /// <summary>One number from the class's database; <paramref name="value"/> is @mid when a string, else @user.</summary>
    protected async Task<long> ScalarAsync(string sql, object value)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue(value is string ? "@mid" : "@user", value);
        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        foreach (var api in _ownApis)
        {
            await api.DisposeAsync();
        }
    }
}
