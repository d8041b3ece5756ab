using System.Net;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;
using static ChatBackend.Tests.Deployment.DeploymentEnvironment;

namespace ChatBackend.Tests.Deployment;

/// <summary>
/// The Docker Compose deployment that ./deploy-test.sh brought up with docs/deploy.md's steps (the images built by the
/// SDK's PublishContainer, the generated docker-compose.yaml and .env, docker-compose 1.29 on a private engine), used
/// over HTTP from the host as a client would, restarted, taken down and up again, and removed.
/// </summary>
[Trait("Category", "Deployment")]
public sealed class ComposeDeploymentTests
{
    private static readonly TimeSpan ServiceBound = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task TheComposeDeploymentAnswersKeepsItsDataThroughARestartAndADownAndUpAndLeavesNothingAfterDownWithVolumes()
    {
        AssertPrivateEngine();
        Assert.Equal("running healthy", await StateAsync("mysql"));
        Assert.Equal("exited 0", await StateAsync("migrator"));
        Assert.Equal("running healthy", await StateAsync("apiservice"));
        // The SDK's images run as the non-root user app (uid 1654, as Microsoft's images), not as root.
        Assert.Equal("app", await DockerAsync("image", "inspect", "--format", "{{.Config.User}}", "chatbackend-apiservice:latest"));
        Assert.Equal("app", await DockerAsync("image", "inspect", "--format", "{{.Config.User}}", "chatbackend-migrator:latest"));
        Assert.Equal("1654", await DockerAsync("exec", await ContainerAsync("apiservice"), "id", "-u"));

        using var client = new HttpClient { BaseAddress = ApiUrl, Timeout = TestTimeouts.Bound };
        using (var alive = await client.GetAsync("/alive", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }
        var user = ChatCalls.NewUserId();
        var sent = await client.SendOkAsync("Hello from Compose", user);
        var conversationId = sent.Str("conversation_id");
        Assert.False(string.IsNullOrWhiteSpace(sent.Str("message")), sent.ToString());

        using (var stream = await client.StreamAsync("And a streamed one", user, ChatCalls.NewMessageId(), conversationId))
        {
            var events = await ServerSentEvents.ReadAllAsync(stream);
            Assert.Equal("start", events[0].Name);
            Assert.Contains(events, e => e.Name == "delta");
            Assert.Equal("done", events[^1].Name);
            Assert.Equal(conversationId, events[^1].Data.Str("conversation_id"));
        }
        await AssertKeptAsync(client, conversationId, user);

        // The API restarted: the conversation is the database's, not the process's.
        await ComposeAsync("restart", "apiservice");
        await WaitHealthyAsync(client);
        await AssertKeptAsync(client, conversationId, user);

        // Down (the named volume kept) and up again: the server starts on its data directory.
        await ComposeAsync("down");
        Assert.Empty(await ProjectAsync("ps", "-a"));
        var volumes = await ProjectAsync("volume", "ls");
        Assert.Single(volumes);
        await ComposeAsync("up", "-d");
        await WaitHealthyAsync(client);
        await AssertKeptAsync(client, conversationId, user);
        Assert.Equal(volumes, await ProjectAsync("volume", "ls"));
        Assert.NotEmpty(await ProjectAsync("network", "ls"));

        // Down with its volumes: no container, network or volume of the project is left.
        await ComposeAsync("down", "-v");
        Assert.Empty(await ProjectAsync("ps", "-a"));
        Assert.Empty(await ProjectAsync("network", "ls"));
        Assert.Empty(await ProjectAsync("volume", "ls"));
    }

    private static async Task AssertKeptAsync(HttpClient client, string conversationId, long user)
    {
        var history = await client.HistoryAsync(conversationId, user);
        Assert.Equal(4, history.Int("message_count"));
        var messages = history.GetProperty("messages");
        Assert.Equal("Hello from Compose", messages[0].Str("message"));
        Assert.Equal("And a streamed one", messages[2].Str("message"));
        using var list = await client.GetAsync($"/conversations?user_id={user}", TestContext.Current.CancellationToken);
        var conversations = await list.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal([conversationId], conversations.GetProperty("data").EnumerateArray().Select(c => c.Str("conversation_id")));
    }

    private static async Task WaitHealthyAsync(HttpClient client) =>
        await Eventually.WaitForAsync(async () =>
        {
            try
            {
                using var health = await client.GetAsync("/health", TestContext.Current.CancellationToken);
                return health.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the API answers /health with 200", ServiceBound);

    private static async Task ComposeAsync(params string[] arguments)
    {
        var (exitCode, output) = await RunAsync("docker-compose", arguments, ComposeDirectory, ServiceBound);
        Assert.True(exitCode == 0, $"docker-compose {string.Join(' ', arguments)} exited with {exitCode}: {output}");
    }

    // Compose names the project after its folder and labels what it makes with it.
    private static string Project => Path.GetFileName(ComposeDirectory).ToLowerInvariant();

    private static Task<List<string>> ProjectAsync(params string[] command) =>
        DockerLinesAsync([.. command, "--quiet", "--filter", $"label=com.docker.compose.project={Project}"]);

    private static async Task<string> ContainerAsync(string service) =>
        Assert.Single(await DockerLinesAsync("ps", "-a", "--quiet", "--filter", $"label=com.docker.compose.project={Project}",
            "--filter", $"label=com.docker.compose.service={service}"));

    // "running healthy", "exited 0": the container's state with its health, or its exit code once it ended.
    private static async Task<string> StateAsync(string service)
    {
        using var inspect = JsonDocument.Parse(await DockerAsync("inspect", "--format", "{{json .State}}", await ContainerAsync(service)));
        var state = inspect.RootElement;
        var status = state.GetProperty("Status").GetString();
        return status == "exited"
            ? $"exited {state.GetProperty("ExitCode").GetInt32()}"
            : $"{status} {(state.TryGetProperty("Health", out var health) ? health.GetProperty("Status").GetString() : "without a health check")}";
    }
}
