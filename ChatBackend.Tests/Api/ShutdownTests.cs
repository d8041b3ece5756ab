using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>
/// The API stopping (SIGTERM, as a container platform stops it) while replies are generated: they get the host's
/// shutdown timeout to finish; what cannot finish is stored with its partial text, and a stream says to resume.
/// </summary>
[Trait("Category", "Api")]
public sealed class ShutdownTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{

    [Fact]
    public async Task AReplyThatFinishesWithinTheShutdownTimeoutIsStillAnsweredAndStored()
    {
        var api = StartApiFactory(new() { ["shutdownTimeoutSeconds"] = "20" });
        using var client = OwnClient(api);
        Fake.Enqueue(new FakeReply.Text(["finished in time"], Delay: TimeSpan.FromSeconds(2)));

        var send = client.SendJsonAsync("take your time", ChatCalls.NewUserId(), ChatCalls.NewMessageId());
        await Eventually.WaitForAsync(() => Fake.Requests.Count == 1, "the model asked");
        var stopping = api.DisposeAsync().AsTask();
        using var response = await send.Bounded();
        await stopping.Bounded();

        var reply = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("finished in time", reply.Str("message"));
        Assert.Equal("Success", await StatusAsync(reply.Str("conversation_id"), reply.Str("message_id")));
    }

    [Fact]
    public async Task AReplyThatCannotFinishBeforeTheShutdownTimeoutIsA503AndARetryElsewhereCompletesTheTurnInPlace()
    {
        var api = StartApiFactory(new() { ["shutdownTimeoutSeconds"] = "3" });
        using var client = OwnClient(api);
        Fake.Enqueue(new FakeReply.Text(["never"], Delay: TimeSpan.FromMinutes(5)));
        var user = ChatCalls.NewUserId();

        var send = client.SendJsonAsync("interrupted", user, "stop-1");
        await Eventually.WaitForAsync(() => Fake.Requests.Count == 1, "the model asked");
        var clock = Stopwatch.StartNew();
        var stopping = api.DisposeAsync().AsTask();
        using var response = await send.Bounded();
        await stopping.Bounded();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"The stop took {clock.Elapsed}, not the 3-s shutdown timeout.");
        var problem = await response.ExpectAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("stop-1", problem.Str("message_id"));
        var conversationId = problem.Str("conversation_id");
        Assert.Equal("Error", await StatusAsync(conversationId, "stop-1"));

        using var other = StartApi();
        var retried = await other.SendOkAsync("interrupted", user, conversationId, "stop-1");
        Assert.Equal("echo: interrupted", retried.Str("message"));
        var history = await other.HistoryAsync(conversationId);
        Assert.Equal(2, history.Int("message_count"));
        Assert.Equal(["Success", "Success"], history.GetProperty("messages").EnumerateArray().Select(m => m.Str("status")));
    }

    [Fact]
    public async Task AStreamCutByTheShutdownEndsWithAResumeEventAndKeepsItsPartialText()
    {
        var api = StartApiFactory(new() { ["shutdownTimeoutSeconds"] = "3" });
        using var client = OwnClient(api);
        var hold = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["Once upon ", "a time"], HoldAfterFirstPiece: hold.Task));
        var (user, messageId) = (ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        using var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
        {
            Content = JsonContent.Create(new { message = "tell me a story", user_id = user, message_id = messageId }),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        var events = new List<ServerSentEvents.Event>();
        Task? stopping = null;
        using var bound = TestTimeouts.Cancellation();
        await foreach (var item in ServerSentEvents.ReadEventsAsync(response, cancellationToken: bound.Token))
        {
            events.Add(item);
            if (item.Name == "delta")
            {
                stopping = api.DisposeAsync().AsTask();
            }
        }
        await stopping!.Bounded();

        Assert.Equal(["start", "delta", "resume"], events.Select(e => e.Name));
        var resume = events[^1].Data;
        var conversationId = resume.Str("conversation_id");
        Assert.Equal(messageId, resume.Str("message_id"));
        Assert.Equal("server_stopping", resume.Str("reason"));
        using var other = StartApi();
        var stored = (await other.HistoryAsync(conversationId)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal([("user", "Error"), ("assistant", "Error")], stored.Select(m => (m.Str("role"), m.Str("status"))));
        Assert.Equal("server_stopping", stored[0].Str("error"));
        Assert.Equal("Once upon ", stored[1].Str("message"));

        var resent = await other.SendOkAsync("tell me a story", user, conversationId, messageId);
        Assert.Equal("echo: tell me a story", resent.Str("message"));
        var history = await other.HistoryAsync(conversationId);
        Assert.Equal(2, history.Int("message_count"));
        Assert.Equal("echo: tell me a story", history.GetProperty("messages")[1].Str("message"));
        hold.SetResult();
    }

    // The factory disposes the clients it made when it stops, which would cut the request under test.
    private static HttpClient OwnClient(ApiFactory api) =>
        new() { BaseAddress = api.CreateHttpClient().BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    private async Task<string?> StatusAsync(string conversationId, string messageId)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(
            "SELECT Status FROM message_store WHERE conv_id = @conv AND message_id = @mid", connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@mid", messageId);
        return (string?)await command.ExecuteScalarAsync();
    }
}
