using System.Diagnostics;
using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ChatBackend.Tests.AppHost;

/// <summary>
/// The AppHost's real app model through Aspire.Hosting.Testing: DCP runs a real MySQL server (the local binary, as on a
/// machine without a container runtime), the migrator and the API, on random ports.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // /proc and file modes: the machines this runs on
[Trait("Category", "AppHost")]
public sealed class AppHostTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("chatbackend-apphost-test-").FullName;

    [Fact]
    public async Task TheAppModelServesTheApiOnItsDatabaseStopsWithoutLeavingAProcessAndKeepsItsData()
    {
        string conversationId;
        List<int> children;
        await using (var app = await StartAsync())
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());
            var migrator = await SnapshotAsync(app, "migrator");
            Assert.Equal(KnownResourceStates.Finished, migrator.State?.Text);
            Assert.Equal(0, migrator.ExitCode);
            Assert.Equal(KnownResourceStates.Running, (await SnapshotAsync(app, "chatdb")).State?.Text);
            using var client = app.CreateHttpClient("apiservice");
            var user = ChatCalls.NewUserId();

            conversationId = (await client.SendOkAsync("Hello from JSON", user)).Str("conversation_id");
            using (var query = await client.SendQueryAsync("And from the query", user, ChatCalls.NewMessageId(), conversationId))
            {
                await query.ExpectAsync(HttpStatusCode.OK);
            }
            Assert.Equal(4, (await client.HistoryAsync(conversationId, user)).Int("message_count"));

            Assert.False(File.Exists(Path.Combine(_data, "mysql", "init.sql")), "The file that set the root password outlived the start.");
            children = [await ProcessIdAsync(app, "mysql"), await ProcessIdAsync(app, "apiservice")];
            AssertAspireEnvironment(Environment(children[1]), await app.GetConnectionStringAsync("chatdb", Timeout()));
            await app.StopAsync(Timeout());
        }
        await Eventually.HoldsWithinAsync(() => children.All(pid => !IsAlive(pid)), TimeSpan.FromSeconds(15));
        Assert.All(children, pid => Assert.False(IsAlive(pid), $"Process {pid} outlived the AppHost."));

        await using (var again = await StartAsync())
        {
            await again.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());
            using var client = again.CreateHttpClient("apiservice");
            var history = await client.HistoryAsync(conversationId);
            Assert.Equal("Hello from JSON", history.GetProperty("messages")[0].Str("message"));

            // Restart, as the dashboard's button does: a new server process on the same port and data.
            var before = await ProcessIdAsync(again, "mysql");
            var restart = await again.ResourceCommands.ExecuteCommandAsync("mysql", KnownResourceCommands.RestartCommand, Timeout());
            Assert.True(restart.Success, restart.Message);
            await again.ResourceNotifications.WaitForResourceAsync("mysql",
                update => update.Snapshot.State?.Text == KnownResourceStates.Running && Pid(update.Snapshot) is { } pid && pid != before, Timeout());
            Assert.False(IsAlive(before), "The first server process outlived the restart.");
            // Running is not yet accepting connections: the new server may still be starting up.
            await Eventually.HoldsWithinAsync(() => client.GetAsync($"/get-conversation-history/{conversationId}").Result.StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(30));
            Assert.Equal("Hello from JSON", (await client.HistoryAsync(conversationId)).GetProperty("messages")[0].Str("message"));
            await again.StopAsync(Timeout());
        }
    }

    [Fact]
    public async Task AnExistingServerGivenAsTheDatabasesConnectionStringIsUsedInsteadOfStartingOne()
    {
        await using var existing = await MySqlServer.StartAsync();
        var connectionString = existing.ConnectionString("apphost_existing");

        await using var app = await StartAsync(extraArgs: [$"--ConnectionStrings:chatdb={connectionString}"]);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());

        var model = app.Services.GetRequiredService<DistributedApplicationModel>();
        Assert.DoesNotContain(model.Resources, resource => resource.Name == "mysql");
        Assert.False(Directory.Exists(Path.Combine(_data, "mysql")));
        using var client = app.CreateHttpClient("apiservice");
        var conversationId = (await client.SendOkAsync("stored on the existing server", ChatCalls.NewUserId())).Str("conversation_id");
        await using var connection = new MySqlConnector.MySqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var count = new MySqlConnector.MySqlCommand("SELECT COUNT(*) FROM message_store WHERE conv_id = @conv", connection);
        count.Parameters.AddWithValue("@conv", conversationId);
        Assert.Equal(2L, Convert.ToInt64(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture));
        await app.StopAsync(Timeout());
    }

    [Fact]
    public async Task AFailingMigratorKeepsTheApiFromStarting()
    {
        await using var app = await StartAsync(builder =>
        {
            var migrator = builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(resource => resource.Name == "migrator"));
            // A server that is not there, and little patience for it: the migrator exits 1.
            migrator.WithEnvironment("Migrator__ServerWaitTimeout", "00:00:01")
                .WithEnvironment("ConnectionStrings__chatdb", "Server=127.0.0.1;Port=1;User ID=root;Password=x;Database=chatdb");
        });

        var api = await app.ResourceNotifications.WaitForResourceAsync("apiservice",
            update => KnownResourceStates.TerminalStates.Contains(update.Snapshot.State?.Text), Timeout());

        var migrator = await SnapshotAsync(app, "migrator");
        Assert.Equal(KnownResourceStates.Finished, migrator.State?.Text);
        Assert.Equal(1, migrator.ExitCode);
        Assert.Equal(KnownResourceStates.FailedToStart, api.Snapshot.State?.Text);
        Assert.Null(Pid(api.Snapshot));
        await app.StopAsync(Timeout());
    }

    [Fact]
    public async Task WithNoServerBinaryNoContainerRuntimeAndNoConnectionStringTheAppHostStopsWithOneMessageThatNamesTheThreeWays()
    {
        var testing = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ChatBackend_AppHost>(
            [$"--AppHost:DataDirectory={_data}", "--AppHost:ContainerRuntime=none", "--AppHost:MySqlServer=none"], Timeout());
        await using var app = await testing.BuildAsync(Timeout());

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync(Timeout()));

        var failure = Assert.IsType<DistributedApplicationException>(thrown is AggregateException all ? all.InnerExceptions.Single() : thrown);
        Assert.Contains("docker or podman", failure.Message);
        Assert.Contains("mysqld or mariadbd", failure.Message);
        Assert.Contains("ConnectionStrings:chatdb", failure.Message);
    }

    private async Task<DistributedApplication> StartAsync(Action<IDistributedApplicationTestingBuilder>? configure = null, string[]? extraArgs = null)
    {
        string[] args = [$"--AppHost:DataDirectory={_data}", "--AppHost:ContainerRuntime=none", .. extraArgs ?? []];
        var testing = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ChatBackend_AppHost>(args, Timeout());
        configure?.Invoke(testing);
        var app = await testing.BuildAsync(Timeout());
        await app.StartAsync(Timeout());
        return app;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TestTimeouts.AppHostBound).Token;

    // The snapshot property that holds an executable's process id (KnownProperties.Executable.Pid, internal to Aspire).
    private const string PidProperty = "executable.pid";

    private static async Task<CustomResourceSnapshot> SnapshotAsync(DistributedApplication app, string name) =>
        (await app.ResourceNotifications.WaitForResourceAsync(name, _ => true, Timeout())).Snapshot;

    private static async Task<int> ProcessIdAsync(DistributedApplication app, string name) => Pid(await SnapshotAsync(app, name))!.Value;

    private static int? Pid(CustomResourceSnapshot snapshot) =>
        snapshot.Properties.FirstOrDefault(property => property.Name == PidProperty)?.Value is { } value
            ? Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    // What Aspire gives a project in run mode (ASPIRE.md §1.6), as the API process really received it.
    private static void AssertAspireEnvironment(IReadOnlyDictionary<string, string> environment, string? connectionString)
    {
        Assert.Equal(connectionString, environment["ConnectionStrings__chatdb"]);
        Assert.StartsWith("Server=localhost;Port=", connectionString);
        Assert.EndsWith(";Database=chatdb", connectionString);
        Assert.Equal("localhost", environment["CHATDB_HOST"]);
        Assert.Equal("root", environment["CHATDB_USERNAME"]);
        Assert.Equal("chatdb", environment["CHATDB_DATABASENAME"]);
        Assert.StartsWith("mysql://root:", environment["CHATDB_URI"]);
        Assert.StartsWith("jdbc:mysql://localhost:", environment["CHATDB_JDBCCONNECTIONSTRING"]);
        Assert.Equal("apiservice", environment["OTEL_SERVICE_NAME"]);
        Assert.Equal("Development", environment["ASPNETCORE_ENVIRONMENT"]);
        Assert.False(environment.ContainsKey("ConnectionStrings__openai"), "An unset model connection is not passed on.");
    }

    private static Dictionary<string, string> Environment(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('=', 2))
            .GroupBy(parts => parts[0])
            .ToDictionary(group => group.Key, group => group.Last().Length > 1 ? group.Last()[1] : "");

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
