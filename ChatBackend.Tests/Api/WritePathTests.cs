using System.Net;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

[Trait("Category", "Api")]
public sealed class WritePathTests(DatabaseFixture database)
{
    [Fact]
    public async Task NoDatabaseConnectionIsHeldWhileTheModelThinks()
    {
        // A pool of 5 connections and 20 sends held inside the model at once: if a turn kept its connection during
        // the model call, the sixth send could not even store its message.
        var connectionString = await database.CreateMigratedDatabaseAsync("pool") + ";Maximum Pool Size=5;Connection Timeout=5";
        var model = new ScriptedChatClient();
        var inside = 0;
        var allInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        model.Behaviour = async (messages, cancellationToken) =>
        {
            if (Interlocked.Increment(ref inside) == 20)
            {
                allInside.TrySetResult();
            }
            await release.Task.WaitAsync(cancellationToken);
            return ScriptedChatClient.Echo(messages);
        };
        await using var api = new ApiFactory(connectionString, model);
        using var client = api.CreateHttpClient();
        var userId = ChatCalls.NewUserId();

        var sends = Enumerable.Range(1, 20).Select(async i =>
        {
            using var response = await client.SendQueryAsync($"held {i}", userId, $"h-{i}");
            return await response.ExpectAsync(HttpStatusCode.OK);
        }).ToList();
        await allInside.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        release.SetResult();
        var replies = await Task.WhenAll(sends);

        Assert.Equal(20, replies.Select(reply => reply.Str("conversation_id")).Distinct().Count());
        Assert.All(replies, reply => Assert.StartsWith("echo: held ", reply.Str("message")));
    }
}
