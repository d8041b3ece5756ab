namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// One migrated database and one API with a scripted model, shared by the tests of a class (IClassFixture). Each test
/// owns its users, so they share the data; the model's script is per test (<see cref="ApiTest"/> resets it). A class
/// that needs other settings declares its own fixture deriving from this one.
/// </summary>
public class ApiFixture : IAsyncLifetime
{
    private readonly DatabaseFixture _database;
    private readonly string _databasePrefix;
    private readonly Dictionary<string, string?>? _settings;
    private ApiFactory? _api;

    public ApiFixture(DatabaseFixture database)
        : this(database, "api", settings: null)
    {
    }

    protected ApiFixture(DatabaseFixture database, string databasePrefix, Dictionary<string, string?>? settings)
    {
        _database = database;
        _databasePrefix = databasePrefix;
        _settings = settings;
    }

    public ScriptedChatClient Model { get; } = new();

    public string ConnectionString { get; private set; } = "";

    public HttpClient Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        ConnectionString = await _database.CreateMigratedDatabaseAsync(_databasePrefix);
        _api = new ApiFactory(ConnectionString, Model, _settings);
        Client = _api.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        Client?.Dispose();
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }
}

/// <summary>A test of the class's shared API (<see cref="ApiFixture"/>), whose model starts each test unscripted.</summary>
public abstract class ApiTest
{
    protected ApiTest(ApiFixture api)
    {
        Api = api;
        api.Model.Reset();
    }

    private ApiFixture Api { get; }

    protected ScriptedChatClient Model => Api.Model;

    protected HttpClient Client => Api.Client;

    protected string ConnectionString => Api.ConnectionString;
}
