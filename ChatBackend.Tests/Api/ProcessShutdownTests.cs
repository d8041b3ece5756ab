using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>
/// The API process stopped with SIGTERM in the middle of turns, again and again: turns ending by their time limit,
/// turns stopped by the shutdown, database calls cancelled meanwhile; it always exits cleanly (code 0), never with an
/// abort or an unhandled exception.
/// </summary>
[Trait("Category", "Api")]
public sealed class ProcessShutdownTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{
    private const int Rounds = 4;
    private const int TurnsAtOnce = 8;

    [Fact]
    public async Task StoppingTheApiMidTurnManyTimesAlwaysExitsCleanly()
    {
        for (var round = 0; round < Rounds; round++)
        {
            // A model of its own each round: what a stopped round did not ask for is not left to the next.
            await using var model = await FakeOpenAIServer.StartAsync();
            using var api = await ApiProcess.StartAsync(ConnectionString, model.OpenAIConnectionString(), new Dictionary<string, string>
            {
                // A time limit that fires while the host stops, and a shutdown that stops what is left.
                ["Chat__Timeout"] = "00:00:02",
                ["shutdownTimeoutSeconds"] = "3",
            });
            using var client = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            var user = ChatCalls.NewUserId();
            // A follow-up turn reads its context from the database with the turn's own token first. (The first call of
            // a fresh process may outlast the short time limit: its 504 names the conversation too.)
            using var first = await client.SendJsonAsync("first", user, ChatCalls.NewMessageId());
            var conversationId = (await first.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).Str("conversation_id");
            for (var i = 0; i < TurnsAtOnce; i++)
            {
                model.Enqueue(new FakeReply.Text(["slow ", "reply"], Delay: TimeSpan.FromMilliseconds(400 * i)));
            }
            var sends = Enumerable.Range(0, TurnsAtOnce)
                .Select(i => client.SendJsonAsync($"turn {i}", user, ChatCalls.NewMessageId(), i % 2 == 0 ? conversationId : null))
                .ToArray();

            await Task.Delay(TimeSpan.FromMilliseconds(700), TestContext.Current.CancellationToken);
            var exitCode = await api.StopAsync(TimeSpan.FromSeconds(30));

            var output = string.Join('\n', api.Output);
            Assert.True(exitCode == 0, $"Round {round}: exit code {exitCode}.\n{output}");
            Assert.DoesNotContain("Unhandled exception", output, StringComparison.OrdinalIgnoreCase);
            foreach (var send in sends)
            {
                try
                {
                    (await send).Dispose();
                }
                catch (HttpRequestException)
                {
                    // A send that had not reached the server before it stopped listening.
                }
            }
        }
    }
}
