extern alias api;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>The real API on Kestrel on a loopback port, with the given database and optionally another model.</summary>
public sealed class ApiFactory : WebApplicationFactory<api::Program>
{
    private readonly string _connectionString;
    private readonly IChatClient? _chatClient;
    private readonly Dictionary<string, string?> _settings;

    private readonly Action<IServiceCollection>? _configureServices;

    public ApiFactory(
        string connectionString, IChatClient? chatClient = null, Dictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        _connectionString = connectionString;
        _chatClient = chatClient;
        _settings = settings ?? [];
        _configureServices = configureServices;
        // UseKestrel(port) rewrites the server's addresses while a minimal-hosting app may already be starting (an
        // occasional "cannot be modified after the server has started"); a URL in the settings has no such race.
        UseKestrel();
        StartServer();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // A developer's own settings stay out of the tests: user secrets (a model key, the signing key `dotnet
        // user-jwts` keeps there) and the bearer section user-jwts adds to appsettings.Development.json.
        builder.ConfigureAppConfiguration((_, configuration) =>
        {
            foreach (var source in configuration.Sources.OfType<JsonConfigurationSource>()
                         .Where(source => source.Path is "secrets.json" or "appsettings.Development.json").ToList())
            {
                configuration.Sources.Remove(source);
            }
        });
        builder.UseUrls("http://127.0.0.1:0");
        builder.UseSetting("ConnectionStrings:chatdb", _connectionString);
        // The title call would be one more model call in every test that counts them; the title tests turn it on.
        builder.UseSetting("Chat:AutoTitle", "false");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        if (_chatClient is not null)
        {
            builder.ConfigureTestServices(services => services.AddChatClient(_chatClient));
        }
        if (_configureServices is not null)
        {
            builder.ConfigureTestServices(_configureServices);
        }
    }

    public HttpClient CreateHttpClient()
    {
        var client = CreateClient();
        client.Timeout = TimeSpan.FromSeconds(60);
        return client;
    }
}
