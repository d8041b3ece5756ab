namespace ChatBackend.Tests.Infrastructure;

/// <summary>A test class whose every test gets a freshly migrated database and its own API with a scripted model.</summary>
public abstract class ApiTest(DatabaseFixture database, string databasePrefix, Dictionary<string, string?>? settings = null)
    : IAsyncLifetime
{
    protected ScriptedChatClient Model { get; } = new();

    protected string ConnectionString { get; private set; } = "";

    protected HttpClient Client { get; private set; } = null!;

    private ApiFactory? _api;

    public async Task InitializeAsync()
    {
        ConnectionString = await database.CreateMigratedDatabaseAsync(databasePrefix);
        _api = new ApiFactory(ConnectionString, Model, settings);
        Client = _api.CreateHttpClient();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }
}
