using System.Diagnostics;
using System.Net;
using Aspire.Hosting;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests;

/// <summary>
/// The AppHost's own app model, run from its entry point as Aspire.Hosting.Testing does: a real MySQL server
/// (the local binary, as on a machine without a container runtime), the migrator and the API as child processes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // /proc, signals, file modes: the machines this runs on
public sealed class AppHostTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    private readonly string _data = Directory.CreateTempSubdirectory("chatbackend-apphost-test-").FullName;

    [Fact]
    public async Task TheAppModelServesTheApiOnItsDatabaseStopsWithoutLeavingAProcessAndKeepsItsData()
    {
        string conversationId;
        List<int> children;
        await using (var run = await StartAsync())
        {
            var app = run.Application;
            await app.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());
            Assert.Equal(KnownResourceStates.Finished, app.ResourceNotifications.Get("migrator")!.State);
            Assert.Equal(0, app.ResourceNotifications.Get("migrator")!.ExitCode);
            using var client = new HttpClient { BaseAddress = app.GetEndpoint("apiservice") };
            var user = Chat.NewUserId();

            conversationId = (await client.SendOkAsync("Hello from JSON", user)).Str("conversation_id");
            using (var query = await client.SendQueryAsync("And from the query", user, Chat.NewMessageId(), conversationId))
            {
                await query.ExpectAsync(HttpStatusCode.OK);
            }
            var history = await client.HistoryAsync(conversationId, user);
            Assert.Equal(4, history.Int("message_count"));

            Assert.False(File.Exists(Path.Combine(_data, "mysql", "init.sql")), "The file that set the root password outlived the first start.");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_data, "mysql", "password")));
            children = [.. new[] { "mysql", "apiservice" }.Select(name => app.ResourceNotifications.Get(name)!.ProcessId!.Value)];
            AssertAspireEnvironment(Environment(children[1]), app.GetEndpoint("apiservice"));
            Assert.All(children, pid => Assert.True(IsAlive(pid)));
            await app.StopAsync(Timeout());
            Assert.Equal(KnownResourceStates.Exited, app.ResourceNotifications.Get("mysql")!.State);
        }
        Assert.All(children, pid => Assert.False(IsAlive(pid), $"Process {pid} outlived the AppHost."));

        await using (var again = await StartAsync())
        {
            var app = again.Application;
            await app.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());
            using var client = new HttpClient { BaseAddress = app.GetEndpoint("apiservice") };
            var history = await client.HistoryAsync(conversationId);
            Assert.Equal("Hello from JSON", history.GetProperty("messages")[0].Str("message"));
            await app.StopAsync(Timeout());
        }
    }

    [Fact]
    public async Task AnExistingServerGivenAsTheDatabasesConnectionStringIsUsedInsteadOfStartingOne()
    {
        await using var existing = await MySqlServer.StartAsync();
        var connectionString = existing.ConnectionString("apphost_existing");

        await using var run = await StartAsync(extraArgs: [$"--ConnectionStrings:chatdb={connectionString}"]);
        var app = run.Application;
        await app.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());

        Assert.Null(app.ResourceNotifications.Get("mysql")!.ProcessId);
        Assert.Contains(app.ResourceLogs.GetLines("mysql"), line => line.Text.Contains("an existing server", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(_data, "mysql")));
        using var client = new HttpClient { BaseAddress = app.GetEndpoint("apiservice") };
        var conversationId = (await client.SendOkAsync("stored on the existing server", Chat.NewUserId())).Str("conversation_id");
        await using var connection = new MySqlConnector.MySqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var count = new MySqlConnector.MySqlCommand("SELECT COUNT(*) FROM message_store WHERE conv_id = @conv", connection);
        count.Parameters.AddWithValue("@conv", conversationId);
        Assert.Equal(2L, Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        await app.StopAsync(Timeout());
    }

    [Fact]
    public async Task AFailingMigratorKeepsTheApiFromStartingAndSaysWhy()
    {
        await using var run = await StartAsync(builder =>
        {
            var migrator = (ProjectResource)builder.Resources.Single(resource => resource.Name == "migrator");
            // A server that is not there, and little patience for it: the migrator exits 1.
            migrator.Environment["Migrator__ServerWaitTimeout"] = "00:00:01";
            migrator.References.Clear();
            migrator.Environment["ConnectionStrings__chatdb"] = "Server=127.0.0.1;Port=1;User ID=root;Password=x;Database=chatdb";
        });
        var app = run.Application;

        var api = await app.ResourceNotifications.WaitForResourceAsync("apiservice", snapshot => snapshot.IsTerminal, Timeout());

        Assert.Equal(KnownResourceStates.Exited, app.ResourceNotifications.Get("migrator")!.State);
        Assert.Equal(KnownResourceStates.FailedToStart, api.State);
        Assert.Equal("Resource 'migrator' has entered the 'Exited' state with exit code '1', expected '0'.", api.Reason);
        Assert.Null(api.ProcessId);
        Assert.Contains(app.ResourceLogs.GetLines("migrator"), line => line.Text.Contains("Database migration failed", StringComparison.Ordinal));
        await app.StopAsync(Timeout());
    }

    [Fact]
    public async Task WithNoServerBinaryNoContainerRuntimeAndNoConnectionStringOneMessageNamesTheThreeWays()
    {
        await using var run = await StartAsync(extraArgs: ["--AppHost:ContainerRuntime=none", "--AppHost:MySqlServer=none"]);
        var app = run.Application;

        var mysql = await app.ResourceNotifications.WaitForResourceAsync("mysql", snapshot => snapshot.IsTerminal, Timeout());

        Assert.Equal(KnownResourceStates.FailedToStart, mysql.State);
        Assert.Contains("docker or podman", mysql.Reason);
        Assert.Contains("mysqld or mariadbd", mysql.Reason);
        Assert.Contains("ConnectionStrings:chatdb", mysql.Reason);
        var api = await app.ResourceNotifications.WaitForResourceAsync("apiservice", snapshot => snapshot.IsTerminal, Timeout());
        Assert.Equal(KnownResourceStates.FailedToStart, api.State);
        await app.StopAsync(Timeout());
    }

    private async Task<StartedApp> StartAsync(Action<IDistributedApplicationBuilder>? configure = null, string[]? extraArgs = null)
    {
        string[] args = [$"--AppHost:DataDirectory={_data}", "--AppHost:RandomizePorts=true", "--AppHost:ContainerRuntime=none", .. extraArgs ?? []];
        var testing = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ChatBackend_AppHost>(args, Timeout());
        configure?.Invoke(testing.Builder);
        var application = testing.Build();
        await application.StartAsync(Timeout());
        return new StartedApp(testing, application);
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(Bound).Token;

    // What Aspire gives a project in run mode (ASPIRE.md §1.6), as the child process really received it.
    private static void AssertAspireEnvironment(IReadOnlyDictionary<string, string> environment, Uri endpoint)
    {
        Assert.StartsWith("Server=localhost;Port=", environment["ConnectionStrings__chatdb"]);
        Assert.EndsWith(";Database=chatdb", environment["ConnectionStrings__chatdb"]);
        Assert.Equal("localhost", environment["CHATDB_HOST"]);
        Assert.Equal("root", environment["CHATDB_USERNAME"]);
        Assert.Equal("chatdb", environment["CHATDB_DATABASENAME"]);
        Assert.StartsWith("jdbc:mysql://localhost:", environment["CHATDB_JDBCCONNECTIONSTRING"]);
        Assert.Equal("apiservice", environment["OTEL_SERVICE_NAME"]);
        Assert.Matches("^service.instance.id=[a-z]{8}$", environment["OTEL_RESOURCE_ATTRIBUTES"]);
        Assert.Equal(endpoint.GetLeftPart(UriPartial.Authority), environment["ASPNETCORE_URLS"]);
        Assert.Equal("http", environment["DOTNET_LAUNCH_PROFILE"]);
        Assert.Equal("Development", environment["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("simple", environment["LOGGING__CONSOLE__FORMATTERNAME"]);
        Assert.Equal("true", environment["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"]);
        Assert.False(environment.ContainsKey("ConnectionStrings__openai"), "An unset model connection is not passed on.");
    }

    private static Dictionary<string, string> Environment(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('=', 2))
            .ToDictionary(parts => parts[0], parts => parts.Length > 1 ? parts[1] : "");

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);
}
