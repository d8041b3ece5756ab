using System.Net;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests;

[Collection(DatabaseCollection.Name)]
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
        var userId = Chat.NewUserId();

        var sends = Enumerable.Range(1, 20).Select(async i =>
        {
            using var response = await client.SendQueryAsync($"held {i}", userId, $"h-{i}");
            return await response.ExpectAsync(HttpStatusCode.OK);
        }).ToList();
        await allInside.Task.WaitAsync(TimeSpan.FromSeconds(20));
        release.SetResult();
        var replies = await Task.WhenAll(sends);

        Assert.Equal(20, replies.Select(reply => reply.Str("conversation_id")).Distinct().Count());
        Assert.All(replies, reply => Assert.StartsWith("echo: held ", reply.Str("message")));
    }
}

[Collection(DatabaseCollection.Name)]
public sealed class ShutdownTests(DatabaseFixture database)
{
    [Fact]
    public async Task AServerStoppingDuringTheModelCallAnswers503AndKeepsTheMessageForARetry()
    {
        var connectionString = await database.CreateMigratedDatabaseAsync("stopping");
        var model = new ScriptedChatClient();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        model.Behaviour = async (_, cancellationToken) =>
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return "never";
        };
        var api = new ApiFactory(connectionString, model);
        // A client of our own: the factory disposes the clients it made when it stops, which would cut the request.
        using var client = new HttpClient { BaseAddress = api.CreateHttpClient().BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        var send = client.SendJsonAsync("interrupted", Chat.NewUserId(), "stop-1");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stopping = api.DisposeAsync().AsTask();
        using var response = await send;
        await stopping;

        var problem = await response.ExpectAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("stop-1", problem.Str("message_id"));
        await using var connection = new MySqlConnector.MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new MySqlConnector.MySqlCommand(
            "SELECT Status FROM message_store WHERE conv_id = @conv AND message_id = 'stop-1'", connection);
        command.Parameters.AddWithValue("@conv", problem.Str("conversation_id"));
        Assert.Equal("Error", await command.ExecuteScalarAsync());
    }
}
