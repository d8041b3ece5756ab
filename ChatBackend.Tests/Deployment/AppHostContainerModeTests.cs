using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ChatBackend.AppHost.MySql;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static ChatBackend.Tests.Deployment.DeploymentEnvironment;

namespace ChatBackend.Tests.Deployment;

/// <summary>
/// The AppHost's container mode for real, through Aspire.Hosting.Testing: the docker CLI answers (./deploy-test.sh's
/// private engine), so MySQL runs as a container of the image <c>AppHost:MySqlImage</c> names, its data in a named
/// volume; and an image that cannot be had stops the AppHost at once.
/// </summary>
[Trait("Category", "Deployment")]
public sealed class AppHostContainerModeTests : IAsyncDisposable
{
    // In a registry that refuses at once, as a machine with a runtime and no registry does.
    private const string MissingImage = "localhost:1/chatbackend-no-such-image:0";

    private string? _volume;

    [Fact]
    public async Task TheAppHostRunsMySqlAsAContainerWhoseNamedVolumeKeepsTheConversationsForTheNextRun()
    {
        AssertPrivateEngine();
        string conversationId;
        await using (var app = await StartAsync(MySqlImage))
        {
            var server = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<MySqlServerResource>().Single();
            Assert.Equal(MySqlServerMode.Container, server.Mode);
            Assert.Equal(MySqlImage, server.Image);
            _volume = server.DataVolume!.Name;
            await RunAsync("docker", ["volume", "rm", "--force", _volume]);
            await app.StartAsync(Timeout());
            await app.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());

            var container = Assert.Single(await DockerLinesAsync("ps", "--quiet", "--filter", $"ancestor={MySqlImage}", "--filter", $"volume={_volume}"));
            Assert.Contains("127.0.0.1:", await DockerAsync("port", container, "3306"));
            using var client = app.CreateHttpClient("apiservice");
            var user = ChatCalls.NewUserId();
            var reply = await client.SendOkAsync("Hello from the AppHost's container", user);
            conversationId = reply.Str("conversation_id");
            Assert.False(string.IsNullOrWhiteSpace(reply.Str("message")));
            await app.StopAsync(Timeout());
        }

        // The container goes with the run (docker run --rm); its volume stays.
        await Eventually.WaitForAsync(async () => (await DockerLinesAsync("ps", "--all", "--quiet", "--filter", $"ancestor={MySqlImage}", "--filter", $"volume={_volume}")).Count == 0,
            "the MySQL container is gone after the AppHost stopped", TimeSpan.FromSeconds(30));
        Assert.Equal(_volume, await DockerAsync("volume", "inspect", "--format", "{{.Name}}", _volume));

        await using (var again = await StartAsync(MySqlImage))
        {
            await again.StartAsync(Timeout());
            await again.ResourceNotifications.WaitForResourceHealthyAsync("apiservice", Timeout());
            using var client = again.CreateHttpClient("apiservice");
            var history = await client.HistoryAsync(conversationId);
            Assert.Equal("Hello from the AppHost's container", history.GetProperty("messages")[0].Str("message"));
            await again.StopAsync(Timeout());
        }
    }

    [Fact]
    public async Task ARuntimeThatCannotGetTheImageStopsTheAppHostAtOnceWithOneMessageNamingTheImageAndWhatToDo()
    {
        AssertPrivateEngine();
        await using var app = await StartAsync(MissingImage);
        var elapsed = Stopwatch.StartNew();

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync(Timeout()));

        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(30), $"The AppHost took {elapsed.Elapsed} to give up.");
        var failure = Assert.IsType<DistributedApplicationException>(thrown is AggregateException all ? all.InnerExceptions.Single() : thrown);
        Assert.Contains($"the image {MissingImage} is not among docker's images", failure.Message);
        Assert.Contains($"docker pull {MissingImage}", failure.Message);
        Assert.Contains("AppHost:MySqlImage", failure.Message);
        Assert.Contains("ConnectionStrings:chatdb", failure.Message);
    }

    [Fact]
    public async Task RunAsItsOwnProcessTheAppHostThatCannotGetTheImagePrintsTheMessageAloneAndExitsWith1()
    {
        AssertPrivateEngine();
        var start = AppHostProcess.StartInfo().WithLaunchProfile();
        start.ArgumentList.Add("--AppHost:ContainerRuntime=docker");
        start.ArgumentList.Add($"--AppHost:MySqlImage={MissingImage}");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);

        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single((await errors).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: MySQL cannot start: the image {MissingImage} is not among docker's images", line);
        Assert.DoesNotContain("Exception", await output + line);
    }

    private static async Task<DistributedApplication> StartAsync(string image)
    {
        var testing = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ChatBackend_AppHost>(
            ["--AppHost:ContainerRuntime=docker", $"--AppHost:MySqlImage={image}"], Timeout());
        return await testing.BuildAsync(Timeout());
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TestTimeouts.AppHostBound).Token;

    public async ValueTask DisposeAsync()
    {
        if (_volume is not null)
        {
            await RunAsync("docker", ["volume", "rm", "--force", _volume]);
        }
    }
}
