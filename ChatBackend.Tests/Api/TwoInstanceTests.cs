using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>
/// Two API instances on one database, as the Kubernetes output deploys them: a stream resumed on the other instance,
/// a turn cancelled from the other instance, and an instance killed mid-stream whose turn the other completes.
/// Nothing acknowledged is lost or stored twice, and every reply follows its message.
/// </summary>
[Trait("Category", "Api")]
public sealed class TwoInstanceTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{

    [Fact]
    public async Task AStreamThatDropsIsResumedOnTheOtherInstanceFromItsLastEventId()
    {
        using var a = StartOwnApi();
        using var b = StartOwnApi();
        var hold = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["Once ", "upon ", "a time"], HoldAfterFirstPiece: hold.Task));
        var (user, messageId) = (ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        string conversationId, lastId;
        using (var first = await a.StreamAsync("a story", user, messageId))
        {
            await using var events = ServerSentEvents.ReadEventsAsync(first, cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
            Assert.True(await events.MoveNextAsync());
            conversationId = events.Current.Data.Str("conversation_id");
            Assert.True(await events.MoveNextAsync());
            Assert.Equal(("delta", "Once "), (events.Current.Name, events.Current.Data.Str("text")));
            lastId = events.Current.Id!;
        }
        Assert.Equal("0.5", lastId);
        await WaitForProgressAsync(conversationId, "Once ");

        using var resumed = await ResumeAsync(b, conversationId, messageId, user, lastId);
        var reading = ServerSentEvents.ReadAllAsync(resumed);
        hold.SetResult();
        var events2 = await reading.Bounded();

        Assert.Equal("start", events2[0].Name);
        Assert.Equal("done", events2[^1].Name);
        Assert.Equal("upon a time", string.Concat(events2.Where(e => e.Name == "delta").Select(e => e.Data.Str("text"))));
        Assert.Equal("0.16", events2.Last(e => e.Name == "delta").Id);
        var history = await b.HistoryAsync(conversationId);
        Assert.Equal("Once upon a time", history.GetProperty("messages")[1].Str("message"));
        Assert.Equal(events2[^1].Data.Str("reply_message_id"), history.GetProperty("messages")[1].Str("message_id"));
        Assert.Single(Fake.Requests);
        await AssertEveryReplyFollowsItsMessageAsync(conversationId);
    }

    [Fact]
    public async Task RepeatingTheStreamPostOnTheOtherInstanceWhileItIsAnsweredResumesItInsteadOfA409()
    {
        using var a = StartOwnApi();
        using var b = StartOwnApi();
        var hold = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["first ", "second"], HoldAfterFirstPiece: hold.Task));
        var (user, messageId) = (ChatCalls.NewUserId(), ChatCalls.NewMessageId());
        using var original = await a.StreamAsync("twice", user, messageId);
        var originalEvents = ServerSentEvents.ReadAllAsync(original);
        var conversationId = await WaitForConversationAsync(user);
        await WaitForProgressAsync(conversationId, "first ");

        using var repeated = await b.StreamAsync("twice", user, messageId, conversationId);
        var repeatedEvents = ServerSentEvents.ReadAllAsync(repeated);
        hold.SetResult();

        var fromB = await repeatedEvents.Bounded();
        Assert.Equal("first second", string.Concat(fromB.Where(e => e.Name == "delta").Select(e => e.Data.Str("text"))));
        Assert.Equal("done", fromB[^1].Name);
        Assert.Equal("done", (await originalEvents.Bounded())[^1].Name);
        Assert.Single(Fake.Requests);
        await AssertEveryReplyFollowsItsMessageAsync(conversationId);
    }

    [Fact]
    public async Task ACancelOnTheOtherInstanceStopsTheGenerationAtItsNextProgressWriteAndStoresWhatWasGenerated()
    {
        using var a = StartOwnApi();
        using var b = StartOwnApi();
        var hold = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["partial ", "never sent"], HoldAfterFirstPiece: hold.Task));
        var (user, messageId) = (ChatCalls.NewUserId(), ChatCalls.NewMessageId());
        using var stream = await a.StreamAsync("stop me", user, messageId);
        var streamEvents = ServerSentEvents.ReadAllAsync(stream);
        var conversationId = await WaitForConversationAsync(user);
        await WaitForProgressAsync(conversationId, "partial ");

        var clock = Stopwatch.StartNew();
        using var cancel = await b.PostAsJsonAsync("/chat-message/cancel",
            new { user_id = user, conversation_id = conversationId, message_id = messageId }, TestContext.Current.CancellationToken);
        var answer = await cancel.ExpectAsync(HttpStatusCode.OK);
        var took = clock.Elapsed;

        // A sees the flag with its next progress write (250 ms); the bound is loose for a loaded machine, far below the
        // turn's own end (the model holds it until the test releases it).
        Assert.True(took < TimeSpan.FromSeconds(5), $"The cancel took {took}.");
        Assert.Equal("Cancelled", answer.Str("status"));
        Assert.Equal("partial ", answer.Str("message"));
        var events = await streamEvents.Bounded();
        Assert.Equal("error", events[^1].Name);
        Assert.Equal(409, events[^1].Data.Int("status"));
        var stored = (await b.HistoryAsync(conversationId)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal([("user", "Cancelled"), ("assistant", "Cancelled")], stored.Select(m => (m.Str("role"), m.Str("status"))));
        Assert.Equal("partial ", stored[1].Str("message"));
        hold.SetResult();
        await AssertEveryReplyFollowsItsMessageAsync(conversationId);
    }

    [Fact]
    public async Task AnInstanceKilledMidStreamHasItsTurnCompletedByTheOtherWithinSeconds()
    {
        using var api = await ApiProcess.StartAsync(ConnectionString, Fake.OpenAIConnectionString());
        using var b = StartOwnApi();
        Fake.Enqueue(new FakeReply.Text(["lost ", "words"], HoldAfterFirstPiece: new TaskCompletionSource().Task));
        var (user, messageId) = (ChatCalls.NewUserId(), ChatCalls.NewMessageId());
        using var client = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TestTimeouts.Bound };

        string conversationId, lastId;
        using (var stream = await client.StreamAsync("survive this", user, messageId))
        {
            await using var events = ServerSentEvents.ReadEventsAsync(stream, cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
            Assert.True(await events.MoveNextAsync());
            conversationId = events.Current.Data.Str("conversation_id");
            Assert.True(await events.MoveNextAsync());
            lastId = events.Current.Id!;
            await WaitForProgressAsync(conversationId, "lost ");
            api.Kill();
        }

        var clock = Stopwatch.StartNew();
        using var resumed = await ResumeAsync(b, conversationId, messageId, user, lastId);
        var events2 = await ServerSentEvents.ReadAllAsync(resumed).Bounded();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"The takeover took {clock.Elapsed}.");
        Assert.Equal(["start", "restart", "delta", "done"], events2.Select(e => e.Name));
        Assert.Equal("1.0", events2[1].Id);
        Assert.Equal("echo: survive this", events2[2].Data.Str("text"));
        var history = await b.HistoryAsync(conversationId);
        Assert.Equal(2, history.Int("message_count"));
        Assert.Equal(["Success", "Success"], history.GetProperty("messages").EnumerateArray().Select(m => m.Str("status")));
        Assert.Equal(2, Fake.Requests.Count);
        await AssertEveryReplyFollowsItsMessageAsync(conversationId);
    }

    [Fact]
    public async Task AResponseWhoseInstanceIsKilledIsTakenOverWithItsInstructionsAndFinishedOnTheOther()
    {
        using var two = await HeldReplyOnTwoKeyedInstancesAsync();

        var responseId = await StreamThenKillAsync(two.Client, two.Api, new { input = "survive this", instructions = "Answer in French.", stream = true });

        using var resumed = await two.B.GetAsync($"/v1/responses/{responseId}?stream=true&starting_after=8", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        var events2 = await ServerSentEvents.ReadAllAsync(resumed).Bounded();

        // The text started again: the stream says so and ends; the response is then read whole, answered by B.
        Assert.Equal("response_restarted", events2[^1].Data.Str("code"));
        await Eventually.WaitForAsync(async () =>
        {
            using var read = await two.B.GetAsync($"/v1/responses/{responseId}", TestContext.Current.CancellationToken);
            return (await read.ExpectAsync(HttpStatusCode.OK)).Str("status") == "completed";
        }, "the response completed by B");
        Assert.Equal(2, Fake.Requests.Count);
        Assert.Equal(("system", "Answer in French."), Fake.Requests[1].Messages[1]);
        Assert.Equal(Fake.Requests[0].Messages, Fake.Requests[1].Messages);
    }

    [Fact]
    public async Task ABackgroundResponseWhoseInstanceIsKilledIsFinishedForAClientThatOnlyPollsTheOther()
    {
        using var two = await HeldReplyOnTwoKeyedInstancesAsync();

        using var queued = await two.Client.PostAsJsonAsync("/v1/responses", new { input = "survive this", background = true }, TestContext.Current.CancellationToken);
        var responseId = (await queued.ExpectAsync(HttpStatusCode.OK)).Str("id");
        await WaitForProgressAsync(await ScalarTextAsync("SELECT conv_id FROM message_store WHERE message_id = @p", responseId) ?? "", "lost ");
        two.Api.Kill();

        // Only plain GETs, as an SDK polls a background response: the one after the instance counts as dead takes it over.
        JsonElement last = default;
        await Eventually.WaitForAsync(async () =>
        {
            using var read = await two.B.GetAsync($"/v1/responses/{responseId}", TestContext.Current.CancellationToken);
            last = await read.ExpectAsync(HttpStatusCode.OK);
            return last.Str("status") == "completed";
        }, "the background response completed by B");
        Assert.Equal("echo: survive this", last.GetProperty("output")[0].GetProperty("content")[0].Str("text"));
        Assert.Equal(2, Fake.Requests.Count);
    }

    [Fact]
    public async Task AnAttemptThatWasTakenOverCannotStoreItsEndAndTheTurnKeepsOneReply()
    {
        // A writes no heartbeat (progress off), so B counts its slow turn as abandoned after 3 s and takes it over.
        using var a = StartOwnApi(new() { ["Chat:ProgressInterval"] = "00:00:00" });
        using var b = StartOwnApi();
        Fake.Enqueue(new FakeReply.Text(["from A, too late"], Delay: TimeSpan.FromSeconds(6)));
        var (user, messageId) = (ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var fromA = a.SendJsonAsync("who answers?", user, messageId);
        var conversationId = await WaitForConversationAsync(user);
        // A's model call has the slow reply (B's, later, gets the echo) whatever the machine's load.
        await Eventually.WaitForAsync(() => Fake.Requests.Count == 1, "A's model call");
        using (var early = await b.SendJsonAsync("who answers?", user, messageId, conversationId))
        {
            await early.ExpectAsync(HttpStatusCode.Conflict);
        }
        await Task.Delay(TimeSpan.FromSeconds(3.5), TestContext.Current.CancellationToken);
        var fromB = await b.SendOkAsync("who answers?", user, conversationId, messageId);
        using var lateA = await fromA.Bounded();

        Assert.Equal("echo: who answers?", fromB.Str("message"));
        var problem = await lateA.ExpectAsync(HttpStatusCode.Conflict);
        Assert.Equal(messageId, problem.Str("message_id"));
        var history = await b.HistoryAsync(conversationId);
        Assert.Equal(2, history.Int("message_count"));
        Assert.Equal("echo: who answers?", history.GetProperty("messages")[1].Str("message"));
        await AssertEveryReplyFollowsItsMessageAsync(conversationId);
    }

    [Fact]
    public async Task ACancelFlaggedBeforeTheGeneratingInstanceWroteSurvivesAnotherInstancesPurge()
    {
        // A message Pending for a minute, whose instance has written nothing yet (the row is the cancel's own).
        await using (var connection = new MySqlConnection(ConnectionString))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var seed = new MySqlCommand("""
                INSERT INTO conversation_store (conv_id, user_id, message_count, last_message_no) VALUES ('purge000-0001', 1, 1, 2);
                INSERT INTO message_store (role, conv_id, message_no, message_id, message, Status, created_at, updated_at)
                VALUES ('user', 'purge000-0001', 1, 'p-1', 'hold on', 'Pending', UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE,
                        UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE);
                """, connection);
            await seed.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }
        await using var dataSource = new MySqlDataSource(ConnectionString);
        var store = new ChatBackend.ApiService.Data.ReplyProgressStore(dataSource);
        var key = new ChatBackend.ApiService.Data.ProgressKey("purge000-0001", 1, 0);

        await store.RequestCancelAsync(key, CancellationToken.None);
        await StaleRows.PurgeOnceAsync(ConnectionString);
        var cancels = await store.FlushAsync(
            "the-generating-instance", [], [new ChatBackend.ApiService.Data.ReplyProgress("purge000-0001", 1, 0, "so far", ToolEvents: null)],
            CancellationToken.None);

        Assert.Equal([key], cancels);
    }

    // The stale rows' sweep ends a turn that no instance runs any more (its instance died, no retry came): Error,
    // abandoned; a retry with the same message_id then takes it up in place. A turn within its time is left alone.
    [Fact]
    public async Task APendingTurnSilentLongerThanATurnMayRunIsEndedAsAbandonedAndARetryCompletesItInPlace()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var conversationId = (await client.SendOkAsync("first", user)).Str("conversation_id");
        var (abandoned, running) = (ChatCalls.NewMessageId(), ChatCalls.NewMessageId());
        // Two turns begun as BeginTurnAsync begins them (numbers 3 and 5, their replies' 4 and 6 reserved): one whose
        // instance died 10 minutes ago, one begun just now.
        await SeedTurnsAsync("""
            INSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at)
            VALUES ('user', @conv, 3, @abandoned, 'lost in a crash', 4, 'Pending', UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE, UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE),
                   ('user', @conv, 5, @running, 'still thinking', 3, 'Pending', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            UPDATE conversation_store SET last_message_no = 6, message_count = 4 WHERE conv_id = @conv;
            """, conversationId, abandoned, running);

        await StaleRows.PurgeOnceAsync(ConnectionString, TimeSpan.FromMinutes(2));

        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid AND Status = 'Error' AND error_code = 'abandoned'", abandoned));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid AND Status = 'Pending'", running));
        using var retry = await client.SendJsonAsync("lost in a crash", user, abandoned, conversationId);
        var answered = await retry.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(conversationId, answered.Str("conversation_id"));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid AND Status = 'Success' AND message_no = 3", abandoned));
        Assert.Equal(1, await ScalarAsync(
            "SELECT COUNT(*) FROM message_store r JOIN message_store u ON u.conv_id = r.conv_id AND r.message_no = u.message_no + 1 " +
            "WHERE u.message_id = @mid AND r.role = 'assistant'", abandoned));
    }

    private async Task SeedTurnsAsync(string sql, string conversationId, string abandoned, string running)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@abandoned", abandoned);
        command.Parameters.AddWithValue("@running", running);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    // A takeover begins from a Pending message it read a moment before; one deleted in between (by its user, or by the
    // sweep as a response not to be stored) is not stored anew as a message of no one's asking.
    [Fact]
    public async Task ATakeoverOfAMessageDeletedMeanwhileStoresNothing()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var conversationId = (await client.SendOkAsync("first", user)).Str("conversation_id");
        await using var dataSource = ApiDataSource.Create(ConnectionString);
        var store = new ChatBackend.ApiService.Data.TurnStore(dataSource);

        var outcome = await store.BeginTurnAsync(
            user, conversationId, "gone-meanwhile", "taken over", 3, TimeSpan.FromSeconds(3), idempotencyKey: null, response: null,
            TestContext.Current.CancellationToken, retakeOnly: true);

        Assert.IsType<ChatBackend.ApiService.Data.TurnOutcome.ConversationNotFound>(outcome);
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", "gone-meanwhile"));
        Assert.Equal(2, (await client.HistoryAsync(conversationId, user)).Int("message_count"));
    }

    // store: false promises nothing kept once the request ends; when its instance dies first, the sweep that ends the
    // turn as abandoned deletes it instead, its conversation too (it had none before).
    [Fact]
    public async Task AResponseNotToBeStoredWhoseInstanceDiedIsDeletedByTheSweepInsteadOfKeptAsAbandoned()
    {
        using var two = await HeldReplyOnTwoKeyedInstancesAsync();
        var responseId = await StreamThenKillAsync(two.Client, two.Api, new { input = "forget this", store = false, stream = true });
        var conversationId = await ScalarTextAsync("SELECT conv_id FROM message_store WHERE message_id = @p", responseId) ?? "";

        await Eventually.WaitForAsync(async () =>
        {
            await StaleRows.PurgeOnceAsync(ConnectionString, TimeSpan.FromSeconds(2));
            return await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", responseId) == 0;
        }, "the abandoned response deleted");

        Assert.Null(await ScalarTextAsync("SELECT conv_id FROM conversation_store WHERE conv_id = @p", conversationId));
        using var read = await two.B.GetAsync($"/v1/responses/{responseId}", TestContext.Current.CancellationToken);
        await read.ExpectAsync(HttpStatusCode.NotFound);
    }

    // The same when another instance took the turn over (a client following its stream there): that instance deletes
    // it once the turn ends there.
    [Fact]
    public async Task AResponseNotToBeStoredThatAnotherInstanceTookOverIsDeletedWhenItsTurnEndsThere()
    {
        using var two = await HeldReplyOnTwoKeyedInstancesAsync();
        var responseId = await StreamThenKillAsync(two.Client, two.Api, new { input = "forget this too", store = false, stream = true });

        using (var resumed = await two.B.GetAsync($"/v1/responses/{responseId}?stream=true&starting_after=0", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken))
        {
            await ServerSentEvents.ReadAllAsync(resumed).Bounded();
        }

        await Eventually.WaitForAsync(async () =>
            await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", responseId) == 0, "the taken-over response deleted");
        Assert.Equal(2, Fake.Requests.Count);
        using var read = await two.B.GetAsync($"/v1/responses/{responseId}", TestContext.Current.CancellationToken);
        await read.ExpectAsync(HttpStatusCode.NotFound);
    }

    // An API key of a new user, made on the first instance, on both clients (the /v1 surface takes its user from it).
    private static async Task OneKeyForBothAsync(HttpClient a, HttpClient b)
    {
        using var created = await a.PostAsJsonAsync("/api-keys", new { user_id = ChatCalls.NewUserId() }, TestContext.Current.CancellationToken);
        var key = (await created.ExpectAsync(HttpStatusCode.Created)).Str("key");
        a.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        b.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
    }

    private static Task<HttpResponseMessage> ResumeAsync(HttpClient client, string conversationId, string messageId, long user, string lastId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/conversations/{conversationId}/messages/{messageId}/stream?user_id={user}");
        request.Headers.Add("Last-Event-ID", lastId);
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private async Task<string> WaitForConversationAsync(long user)
    {
        string? conversationId = null;
        await Eventually.WaitForAsync(
            async () => (conversationId = await ScalarTextAsync("SELECT conv_id FROM conversation_store WHERE user_id = @p", user)) is not null,
            $"a conversation of user {user}");
        return conversationId!;
    }

    // The generating instance has written the text so far: another instance can follow it from there.
    // An API process whose next reply holds after its first piece ("lost "), a second instance, and a client of the
    // process, both clients with an API key of one new user (the /v1 surface takes its user from it).
    private async Task<TwoKeyedInstances> HeldReplyOnTwoKeyedInstancesAsync()
    {
        var api = await ApiProcess.StartAsync(ConnectionString, Fake.OpenAIConnectionString());
        var b = StartOwnApi();
        Fake.Enqueue(new FakeReply.Text(["lost ", "words"], HoldAfterFirstPiece: new TaskCompletionSource().Task));
        var client = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TestTimeouts.Bound };
        await OneKeyForBothAsync(client, b);
        return new TwoKeyedInstances(api, b, client);
    }

    private sealed class TwoKeyedInstances(ApiProcess api, HttpClient b, HttpClient client) : IDisposable
    {
        public ApiProcess Api => api;

        public HttpClient B => b;

        public HttpClient Client => client;

        public void Dispose()
        {
            client.Dispose();
            b.Dispose();
            api.Dispose();
        }
    }

    // A /v1 stream on the process until its first piece ("lost ") is in its progress row, then the process killed: the
    // response's id.
    private async Task<string> StreamThenKillAsync(HttpClient client, ApiProcess api, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = JsonContent.Create(body) };
        using var stream = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        await using var events = ServerSentEvents.ReadEventsAsync(stream, cancellationToken: TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await events.MoveNextAsync());
        var responseId = events.Current.Data.GetProperty("response").Str("id");
        while (await events.MoveNextAsync() && events.Current.Name != "response.output_text.delta")
        {
        }
        await WaitForProgressAsync(await ScalarTextAsync("SELECT conv_id FROM message_store WHERE message_id = @p", responseId) ?? "", "lost ");
        api.Kill();
        return responseId;
    }

    private Task WaitForProgressAsync(string conversationId, string text) => Eventually.WaitForAsync(
        async () => await ScalarTextAsync("SELECT text FROM reply_progress WHERE conv_id = @p", conversationId) == text,
        $"'{text}' written as {conversationId}'s progress");

    private async Task<string?> ScalarTextAsync(string sql, object parameter)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@p", parameter);
        return await command.ExecuteScalarAsync(TestContext.Current.CancellationToken) as string;
    }

    // Each user message is followed by at most one reply, numbered right after it, and message_count counts the rows.
    private async Task AssertEveryReplyFollowsItsMessageAsync(string conversationId)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand("""
            SELECT role, message_no FROM message_store WHERE conv_id = @conv ORDER BY message_no;
            SELECT message_count FROM conversation_store WHERE conv_id = @conv;
            """, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string Role, int No)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetInt32(1)));
        }
        await reader.NextResultAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(rows.Count, reader.GetInt32(0));
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Role == "assistant")
            {
                Assert.True(i > 0 && rows[i - 1] == ("user", rows[i].No - 1), $"Reply {rows[i].No} does not follow its message.");
            }
        }
    }
}
