using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>POST /chat-message/stream and POST /chat-message/cancel, through the real OpenAI SDK's streaming.</summary>
[Trait("Category", "Api")]
public sealed class StreamingTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{

    [Fact]
    public async Task AStreamSendsStartThenEachPieceThenDoneAndStoresTheReply()
    {
        using var client = StartApi();
        Fake.Enqueue(FakeReply.Say("Hel", "lo ", "there"));
        var messageId = ChatCalls.NewMessageId();

        using var response = await client.StreamAsync("hi", ChatCalls.NewUserId(), messageId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        var events = await ServerSentEvents.ReadAllAsync(response);
        Assert.Equal(["start", "delta", "delta", "delta", "done"], events.Select(e => e.Name));
        var conversationId = events[0].Data.Str("conversation_id");
        Assert.Equal(messageId, events[0].Data.Str("message_id"));
        Assert.Equal(["Hel", "lo ", "there"], events.Where(e => e.Name == "delta").Select(e => e.Data.Str("text")));
        var done = events[^1].Data;
        Assert.Equal(conversationId, done.Str("conversation_id"));
        Assert.Equal(messageId, done.Str("message_id"));
        Assert.Equal("stop", done.Str("finish_reason"));
        Assert.Equal(FakeOpenAIServer.PromptTokens, done.GetProperty("usage").Int("input_tokens"));
        Assert.Equal(FakeOpenAIServer.CompletionTokens, done.GetProperty("usage").Int("output_tokens"));
        Assert.Equal(JsonValueKind.Number, done.GetProperty("elapsed_ms").ValueKind);
        Assert.True(Fake.Requests[0].Stream);

        var reply = (await client.HistoryAsync(conversationId)).GetProperty("messages")[1];
        Assert.Equal("Hello there", reply.Str("message"));
        Assert.Equal(done.Str("reply_message_id"), reply.Str("message_id"));
        Assert.Equal("Success", reply.Str("status"));
        Assert.Equal(JsonValueKind.Number, reply.GetProperty("time_to_first_token_ms").ValueKind);
    }

    [Fact]
    public async Task TheOriginalsQueryStringFormStreamsToo()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();

        using var response = await client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/chat-message/stream?message=from%20the%20query&user_id={user}&message_id=&message_count=1&conversation_id="),
            HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

        var events = await ServerSentEvents.ReadAllAsync(response);
        Assert.Equal("echo: from the query", string.Concat(events.Where(e => e.Name == "delta").Select(e => e.Data.Str("text"))));
        Assert.Equal("done", events[^1].Name);
    }

    [Fact]
    public async Task AStreamCutInTheMiddleEndsWithAnErrorEventAndTheMessageIsStoredAsError()
    {
        using var client = StartApi();
        var cut = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.CutStream(["par", "tial"], cut.Task));

        using var response = await client.StreamAsync("hi", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var events = ServerSentEvents.ReadEventsAsync(response, cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        var names = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await events.MoveNextAsync().AsTask().Bounded());
            names.Add(events.Current.Name);
        }
        cut.SetResult();
        Assert.True(await events.MoveNextAsync().AsTask().Bounded());
        names.Add(events.Current.Name);
        Assert.Equal(["start", "delta", "delta", "error"], names);
        Assert.Equal(502, events.Current.Data.Int("status"));
        await AssertStoredAsErrorAsync(client, events.Current.Data.Str("conversation_id"), "provider_error");
    }

    [Fact]
    public async Task AStreamWithoutAFinishReasonEndsWithAnErrorEventAndTheMessageIsStoredAsError()
    {
        using var client = StartApi();
        Fake.Enqueue(new FakeReply.Text(["never ", "finished"], FinishReason: null));

        using var response = await client.StreamAsync("hi", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var events = await ServerSentEvents.ReadAllAsync(response);
        Assert.Equal(["start", "delta", "delta", "error"], events.Select(e => e.Name));
        Assert.Equal(502, events[^1].Data.Int("status"));
        await AssertStoredAsErrorAsync(client, events[0].Data.Str("conversation_id"), "no_finish_reason");
    }

    [Fact]
    public async Task AModelThatFallsSilentInTheMiddleOfAStreamEndsItWithA504AtTheTurnsTimeout()
    {
        using var client = StartApi(new() { ["Chat:Timeout"] = "00:00:02" });
        Fake.Enqueue(new FakeReply.Text(["first ", "never sent"], PieceDelay: TimeSpan.FromSeconds(60)));

        using var response = await client.StreamAsync("hi", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var events = await ServerSentEvents.ReadAllAsync(response);
        Assert.Equal(["start", "delta", "error"], events.Select(e => e.Name));
        Assert.Equal(504, events[^1].Data.Int("status"));
        await AssertStoredAsErrorAsync(client, events[0].Data.Str("conversation_id"), "timeout");
    }

    private static async Task AssertStoredAsErrorAsync(HttpClient client, string conversationId, string errorCode)
    {
        var stored = Assert.Single((await client.HistoryAsync(conversationId)).GetProperty("messages").EnumerateArray());
        Assert.Equal("Error", stored.Str("status"));
        Assert.Equal(errorCode, stored.Str("error"));
    }

    [Fact]
    public async Task AnErrorBeforeTheStreamBeginsIsAnOrdinaryProblemResponse()
    {
        using var client = StartApi();

        using var response = await client.StreamAsync("hi", ChatCalls.NewUserId(), ChatCalls.NewMessageId(), conversationId: "nosuchconv01");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(Fake.Requests);
    }

    [Fact]
    public async Task AClientThatDisconnectsLosesNothingTheReplyIsStoredAndFoundInTheHistory()
    {
        using var client = StartApi();
        var release = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["first ", "second"], HoldAfterFirstPiece: release.Task));
        var user = ChatCalls.NewUserId();

        string conversationId;
        using (var response = await client.StreamAsync("don't lose me", user, ChatCalls.NewMessageId()))
        {
            var events = ServerSentEvents.ReadEventsAsync(response, cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
            Assert.True(await events.MoveNextAsync());
            conversationId = events.Current.Data.Str("conversation_id");
            Assert.True(await events.MoveNextAsync());
            Assert.Equal("first ", events.Current.Data.Str("text"));
            await events.DisposeAsync();
        }
        release.SetResult();

        var reply = await WaitForReplyAsync(client, conversationId, "Success");
        Assert.Equal("first second", reply.Str("message"));
    }

    [Fact]
    public async Task ACancelStopsTheReplyStoresWhatWasGeneratedAndARetryGeneratesAnew()
    {
        using var client = StartApi();
        var neverReleased = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["half ", "never sent"], HoldAfterFirstPiece: neverReleased.Task), FakeReply.Say("a whole new reply"));
        var user = ChatCalls.NewUserId();
        var messageId = ChatCalls.NewMessageId();

        using var response = await client.StreamAsync("stop me", user, messageId);
        var events = ServerSentEvents.ReadEventsAsync(response, cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await events.MoveNextAsync());
        var conversationId = events.Current.Data.Str("conversation_id");
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("half ", events.Current.Data.Str("text"));

        using var cancel = await client.PostAsJsonAsync("/chat-message/cancel",
            new { user_id = user, conversation_id = conversationId, message_id = messageId }, TestContext.Current.CancellationToken);
        var cancelled = await cancel.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Cancelled", cancelled.Str("status"));
        Assert.Equal("half ", cancelled.Str("message"));

        Assert.True(await events.MoveNextAsync().AsTask().Bounded());
        Assert.Equal("error", events.Current.Name);
        Assert.Equal(409, events.Current.Data.Int("status"));
        await events.DisposeAsync();

        var history = await client.HistoryAsync(conversationId);
        Assert.Equal(2, history.Int("message_count"));
        Assert.Equal(
            [("user", "Cancelled", "stop me"), ("assistant", "Cancelled", "half ")],
            history.GetProperty("messages").EnumerateArray().Select(m => (m.Str("role"), m.Str("status"), m.Str("message"))));

        var retried = await client.SendOkAsync("stop me", user, conversationId, messageId);
        Assert.Equal("a whole new reply", retried.Str("message"));
        history = await client.HistoryAsync(conversationId);
        Assert.Equal(2, history.Int("message_count"));
        Assert.Equal(
            [("user", "Success", "stop me"), ("assistant", "Success", "a whole new reply")],
            history.GetProperty("messages").EnumerateArray().Select(m => (m.Str("role"), m.Str("status"), m.Str("message"))));
    }

    [Fact]
    public async Task ACancelOfAFinishedMessageIsA409WithItsStatusAndOfAnUnknownOneA404()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var messageId = ChatCalls.NewMessageId();
        var conversationId = (await client.SendOkAsync("done already", user, messageId: messageId)).Str("conversation_id");

        using var finished = await client.PostAsync(
            $"/chat-message/cancel?user_id={user}&conversation_id={conversationId}&message_id={messageId}", content: null, TestContext.Current.CancellationToken);
        using var unknown = await client.PostAsJsonAsync("/chat-message/cancel",
            new { user_id = user, conversation_id = conversationId, message_id = "no-such-message" }, TestContext.Current.CancellationToken);
        using var strangers = await client.PostAsJsonAsync("/chat-message/cancel",
            new { user_id = ChatCalls.NewUserId(), conversation_id = conversationId, message_id = messageId }, TestContext.Current.CancellationToken);
        using var invalid = await client.PostAsJsonAsync("/chat-message/cancel", new { user_id = user }, TestContext.Current.CancellationToken);

        Assert.Equal("Success", (await finished.ExpectAsync(HttpStatusCode.Conflict)).Str("status"));
        Assert.Equal("message_id", (await unknown.ExpectAsync(HttpStatusCode.NotFound)).Str("field"));
        await strangers.ExpectAsync(HttpStatusCode.NotFound);
        var errors = (await invalid.ExpectAsync(HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("conversation_id", out _));
        Assert.True(errors.TryGetProperty("message_id", out _));
    }

    [Fact]
    public async Task AQuietStreamSendsKeepAliveComments()
    {
        using var client = StartApi(new() { ["Chat:HeartbeatInterval"] = "00:00:00.100" });
        Fake.Enqueue(new FakeReply.Text(["late"], Delay: TimeSpan.FromMilliseconds(800)));

        using var response = await client.StreamAsync("take your time", ChatCalls.NewUserId(), ChatCalls.NewMessageId());
        var comments = new List<string>();
        var events = await ServerSentEvents.ReadAllAsync(response, comments);

        Assert.Contains(": keepalive", comments);
        Assert.Equal("done", events[^1].Name);
    }

    [Fact]
    public async Task AStreamWhosePiecesKeepComingSendsNoKeepAlive()
    {
        using var client = StartApi(new() { ["Chat:HeartbeatInterval"] = "00:00:01" });
        Fake.Enqueue(new FakeReply.Text([.. Enumerable.Range(0, 30).Select(i => $"p{i} ")], PieceDelay: TimeSpan.FromMilliseconds(100)));

        using var response = await client.StreamAsync("keep talking", ChatCalls.NewUserId(), ChatCalls.NewMessageId());
        var comments = new List<string>();
        var events = await ServerSentEvents.ReadAllAsync(response, comments);

        // 3 s of pieces 0.1 s apart: the stream was never silent for 1 s, though its heartbeat ran out about three times.
        Assert.Equal(30, events.Count(item => item.Name == "delta"));
        Assert.DoesNotContain(": keepalive", comments);
        Assert.Equal("done", events[^1].Name);
    }

    [Fact]
    public async Task AnAnsweredMessageIdStreamsItsStoredReplyWithoutCallingTheModel()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var messageId = ChatCalls.NewMessageId();
        var first = await client.SendOkAsync("once", user, messageId: messageId);

        using var response = await client.StreamAsync("once", user, messageId, first.Str("conversation_id"));

        var events = await ServerSentEvents.ReadAllAsync(response);
        Assert.Equal(["start", "delta", "done"], events.Select(e => e.Name));
        Assert.Equal(first.Str("message"), events[1].Data.Str("text"));
        Assert.Equal(first.Str("reply_message_id"), events[2].Data.Str("reply_message_id"));
        Assert.Single(Fake.Requests);
    }

    private static async Task<JsonElement> WaitForReplyAsync(HttpClient client, string conversationId, string status)
    {
        var messages = default(JsonElement);
        await Eventually.WaitForAsync(async () =>
        {
            messages = (await client.HistoryAsync(conversationId)).GetProperty("messages");
            return messages.GetArrayLength() == 2 && messages[1].Str("status") == status;
        }, $"a {status} reply in {conversationId}");
        return messages[1];
    }
}
