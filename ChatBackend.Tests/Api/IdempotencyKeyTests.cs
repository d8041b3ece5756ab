using System.Net;
using System.Net.Http.Json;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>The Idempotency-Key header on POST /chat-message and its stream (the IETF httpapi draft's semantics).</summary>
[Trait("Category", "Api")]
public sealed class IdempotencyKeyTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{
    [Fact]
    public async Task ARetriedFirstSendWithTheSameKeyGetsTheSameConversationAndReplyWithoutASecondModelCall()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var key = $"\"{Guid.NewGuid()}\"";

        var first = await (await SendAsync(client, "hello", user, key)).ExpectAsync(HttpStatusCode.OK);
        var retried = await (await SendAsync(client, "hello", user, key)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(first.Str("conversation_id"), retried.Str("conversation_id"));
        Assert.Equal(first.Str("message_id"), retried.Str("message_id"));
        Assert.Equal(first.Str("reply_message_id"), retried.Str("reply_message_id"));
        Assert.Equal(first.Str("message"), retried.Str("message"));
        Assert.Single(Fake.Requests);
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
        Assert.Equal(2, (await client.HistoryAsync(first.Str("conversation_id"))).Int("message_count"));
    }

    [Fact]
    public async Task TheStreamWithAKeyThatWasAnsweredStreamsTheStoredReply()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var key = Guid.NewGuid().ToString();
        var sent = await (await SendAsync(client, "hello", user, key)).ExpectAsync(HttpStatusCode.OK);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
        {
            Content = JsonContent.Create(new { message = "hello", user_id = user }),
        };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

        var events = await ServerSentEvents.ReadAllAsync(response);
        Assert.Equal(["start", "delta", "done"], events.Select(e => e.Name));
        Assert.Equal(sent.Str("message"), events[1].Data.Str("text"));
        Assert.Equal(sent.Str("reply_message_id"), events[2].Data.Str("reply_message_id"));
        Assert.Single(Fake.Requests);
    }

    [Fact]
    public async Task TheSameKeyWithADifferentMessageIsA422NamingTheHeaderAndStoresNothing()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var key = Guid.NewGuid().ToString();
        var first = await (await SendAsync(client, "hello", user, key)).ExpectAsync(HttpStatusCode.OK);

        var problem = await (await SendAsync(client, "something else", user, key)).ExpectAsync(HttpStatusCode.UnprocessableEntity);

        Assert.Equal("Idempotency-Key", problem.Str("field"));
        Assert.Single(Fake.Requests);
        Assert.Equal(2, (await client.HistoryAsync(first.Str("conversation_id"))).Int("message_count"));
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
    }

    [Fact]
    public async Task TheSameKeyWhileTheFirstIsStillBeingAnsweredIsA409NamingItsTurn()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var key = Guid.NewGuid().ToString();
        Fake.Enqueue(new FakeReply.Text(["slow"], Delay: TimeSpan.FromSeconds(2)));

        var first = SendAsync(client, "hello", user, key);
        await Eventually.WaitForAsync(async () => await ScalarAsync("SELECT COUNT(*) FROM idempotency_key WHERE user_id = @user", user) == 1, "the first send's key stored");
        var problem = await (await SendAsync(client, "hello", user, key)).ExpectAsync(HttpStatusCode.Conflict);
        var answered = await (await first).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(answered.Str("conversation_id"), problem.Str("conversation_id"));
        Assert.Equal(answered.Str("message_id"), problem.Str("message_id"));
        Assert.Single(Fake.Requests);
    }

    [Fact]
    public async Task TheStreamWithTheSameKeyWhileTheFirstIsStillBeingAnsweredResumesItInsteadOfA409()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var key = Guid.NewGuid().ToString();
        var hold = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["first ", "second"], HoldAfterFirstPiece: hold.Task));

        using var original = await StreamWithKeyAsync(client, user, key);
        var originalEvents = ServerSentEvents.ReadAllAsync(original);
        await Eventually.WaitForAsync(async () => await ScalarAsync("SELECT COUNT(*) FROM idempotency_key WHERE user_id = @user", user) == 1, "the first send's key stored");
        using var repeated = await StreamWithKeyAsync(client, user, key);
        var repeatedEvents = ServerSentEvents.ReadAllAsync(repeated);
        hold.SetResult();

        var events = await repeatedEvents.Bounded();
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.Equal("first second", string.Concat(events.Where(e => e.Name == "delta").Select(e => e.Data.Str("text"))));
        Assert.Equal("done", events[^1].Name);
        Assert.Equal("done", (await originalEvents.Bounded())[^1].Name);
        Assert.Single(Fake.Requests);
    }

    private static Task<HttpResponseMessage> StreamWithKeyAsync(HttpClient client, long user, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
        {
            Content = JsonContent.Create(new { message = "stream once", user_id = user }),
        };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    [Fact]
    public async Task TenFirstSendsWithOneKeyAtOnceMakeOneConversationAndOneModelCall()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var key = Guid.NewGuid().ToString();
        Fake.Enqueue(new FakeReply.Text(["once"], Delay: TimeSpan.FromSeconds(1)));

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => SendAsync(client, "hello", user, key)));

        Assert.All(responses, response => Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        Assert.Contains(responses, response => response.StatusCode == HttpStatusCode.OK);
        Assert.Single(Fake.Requests);
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM idempotency_key WHERE user_id = @user", user));
    }

    [Fact]
    public async Task AKeyIsTheUsersOwnAndAfter24HoursStartsANewTurn()
    {
        using var client = StartApi();
        var (user, other) = (ChatCalls.NewUserId(), ChatCalls.NewUserId());
        var key = Guid.NewGuid().ToString();
        var first = await (await SendAsync(client, "hello", user, key)).ExpectAsync(HttpStatusCode.OK);

        var others = await (await SendAsync(client, "hello", other, key)).ExpectAsync(HttpStatusCode.OK);
        Assert.NotEqual(first.Str("conversation_id"), others.Str("conversation_id"));

        await ScalarAsync("UPDATE idempotency_key SET created_at = UTC_TIMESTAMP(6) - INTERVAL 25 HOUR WHERE user_id = @user", user);
        var later = await (await SendAsync(client, "hello", user, key)).ExpectAsync(HttpStatusCode.OK);

        Assert.NotEqual(first.Str("conversation_id"), later.Str("conversation_id"));
        Assert.Equal(3, Fake.Requests.Count);
        Assert.Equal(2L, await ScalarAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
    }

    [Fact]
    public async Task ThePurgeDeletesKeysOlderThan24HoursAndKeepsTheOthers()
    {
        using var client = StartApi();
        var (user, key) = (ChatCalls.NewUserId(), Guid.NewGuid().ToString());
        await (await SendAsync(client, "old", user, key)).ExpectAsync(HttpStatusCode.OK);
        await (await SendAsync(client, "new", user, key + "-new")).ExpectAsync(HttpStatusCode.OK);
        await ScalarAsync("UPDATE idempotency_key SET created_at = UTC_TIMESTAMP(6) - INTERVAL 25 HOUR WHERE user_id = @user AND idem_key NOT LIKE '%-new'", user);

        await StaleRows.PurgeOnceAsync(ConnectionString);

        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM idempotency_key WHERE user_id = @user", user));
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\tinside")]
    [InlineData("two,keys", "another")]
    public async Task AMalformedKeyIsA400NamingTheHeaderAndStoresNothing(string key, string? second = null)
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        if (key == "")
        {
            key = new string('k', 256);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message")
        {
            Content = JsonContent.Create(new { message = "hello", user_id = user }),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", second is null ? [key] : [key, second]);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        var problem = await response.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _), problem.ToString());
        Assert.Empty(Fake.Requests);
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string message, long userId, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message")
        {
            Content = JsonContent.Create(new { message, user_id = userId, message_count = 1, conversation_id = "" }),
        };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }
}
