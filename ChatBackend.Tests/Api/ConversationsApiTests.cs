using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.ApiService.Data;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>GET /conversations, GET/PATCH/DELETE /conversations/{id} and the paged history, over HTTP.</summary>
[Trait("Category", "Api")]
public sealed class ConversationsApiTests(ApiFixture api) : ApiTest(api), IClassFixture<ApiFixture>
{
    [Fact]
    public async Task TheListShowsOnlyTheUsersConversationsMostRecentlyActiveFirstPageByPage()
    {
        var (user, other) = (ChatCalls.NewUserId(), ChatCalls.NewUserId());
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await Client.SendOkAsync($"conversation {i}", user)).Str("conversation_id"));
        }
        await Client.SendOkAsync("not yours", other);
        // The first one gets a new message: it moves to the top.
        await Client.SendOkAsync("back again", user, ids[0]);

        var first = await ListAsync(user, "limit=2");
        var second = await ListAsync(user, $"limit=2&after={first.Str("last_id")}");
        var third = await ListAsync(user, $"limit=2&after={second.Str("last_id")}");

        Assert.Equal([ids[0], ids[4]], Ids(first));
        Assert.Equal([ids[3], ids[2]], Ids(second));
        Assert.Equal([ids[1]], Ids(third));
        Assert.True(first.GetProperty("has_more").GetBoolean());
        Assert.False(third.GetProperty("has_more").GetBoolean());
        var top = first.GetProperty("data")[0];
        Assert.Equal("NEW CHAT", top.Str("chat_name"));
        Assert.Equal(4, top.Int("message_count"));
        Assert.True(top.GetProperty("updated_at").GetDateTime() > top.GetProperty("created_at").GetDateTime());
        Assert.Equal(5, Ids(await ListAsync(user, "")).Count);
    }

    [Fact]
    public async Task PagingWhileMessagesArriveNeverRepeatsOrSkipsAConversationThatDidNotMove()
    {
        var user = ChatCalls.NewUserId();
        var ids = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            ids.Add((await Client.SendOkAsync($"c{i}", user)).Str("conversation_id"));
        }
        var moved = new HashSet<string>();
        var seen = new List<string>();
        string? after = null;
        var page = 0;
        do
        {
            var list = await ListAsync(user, "limit=4" + (after is null ? "" : $"&after={after}"));
            seen.AddRange(Ids(list));
            after = list.GetProperty("has_more").GetBoolean() ? list.Str("last_id") : null;
            // Between pages, sends into one conversation not seen yet and one seen already, at once.
            var unseen = ids.Except(seen).Except(moved).FirstOrDefault();
            var passed = seen.Except(moved).FirstOrDefault();
            var sends = new[] { unseen, passed }.OfType<string>().Select(id =>
            {
                moved.Add(id);
                return Client.SendOkAsync($"moves {page}", user, id);
            });
            await Task.WhenAll(sends);
            page++;
        }
        while (after is not null);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.All(ids.Except(moved), id => Assert.Contains(id, seen));
    }

    [Fact]
    public async Task APageAfterTheFirstIsServedByTheRecencyIndexWithoutASort()
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand("EXPLAIN " + ConversationQueries.ListAfterSql, connection);
        command.Parameters.AddWithValue("@user", 1);
        command.Parameters.AddWithValue("@updated", DateTime.UtcNow);
        command.Parameters.AddWithValue("@id", 100);
        command.Parameters.AddWithValue("@limit", 21);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));

        Assert.Equal("ix_conversation_user_recency", reader.GetString("key"));
        Assert.DoesNotContain("filesort", reader.GetString("Extra"), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AHistoryPageIsServedByTheMessageNumberKeyWithoutASort()
    {
        var user = ChatCalls.NewUserId();
        var id = (await Client.SendOkAsync("m1", user)).Str("conversation_id");
        for (var i = 2; i <= 30; i++)
        {
            await Client.SendOkAsync($"m{i}", user, id);
        }
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using (var analyze = new MySqlCommand("ANALYZE TABLE conversation_store, message_store", connection))
        {
            await analyze.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }
        await using var command = new MySqlCommand("EXPLAIN " + ConversationQueries.HistorySql, connection);
        command.Parameters.AddWithValue("@conv", id);
        command.Parameters.AddWithValue("@before", 40);
        command.Parameters.AddWithValue("@limit", 21);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var plan = new List<(string Table, string? Key, string Extra)>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            plan.Add((reader.GetString("table"), reader.IsDBNull(reader.GetOrdinal("key")) ? null : reader.GetString("key"),
                reader.IsDBNull(reader.GetOrdinal("Extra")) ? "" : reader.GetString("Extra")));
        }

        Assert.Contains(plan, step => step is { Table: "c", Key: "ux_conversation_conv_id" });
        Assert.Contains(plan, step => step is { Table: "m", Key: "ux_message_conv_no" });
        Assert.All(plan, step => Assert.DoesNotContain("filesort", step.Extra, StringComparison.OrdinalIgnoreCase));
        Assert.All(plan, step => Assert.DoesNotContain("temporary", step.Extra, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("user_id=1&limit=0", "limit")]
    [InlineData("user_id=1&limit=101", "limit")]
    [InlineData("user_id=1&limit=ten", "limit")]
    [InlineData("user_id=1&after=nonsense", "after")]
    [InlineData("limit=5", "user_id")]
    public async Task ABadListQueryIsA400NamingTheParameter(string query, string named)
    {
        using var response = await Client.GetAsync($"/conversations?{query}", TestContext.Current.CancellationToken);

        var problem = await response.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(named, out _), problem.ToString());
    }

    [Fact]
    public async Task AConversationIsReadAndRenamedInAnyScriptByItsUserOnly()
    {
        var (user, other) = (ChatCalls.NewUserId(), ChatCalls.NewUserId());
        var id = (await Client.SendOkAsync("hello", user)).Str("conversation_id");

        using var renamed = await Client.PatchAsJsonAsync($"/conversations/{id}", new { user_id = user, chat_name = "  Résumé 日本語 🚀  " }, TestContext.Current.CancellationToken);
        var item = await renamed.ExpectAsync(HttpStatusCode.OK);
        using var read = await Client.GetAsync($"/conversations/{id}?user_id={user}", TestContext.Current.CancellationToken);
        using var strangers = await Client.GetAsync($"/conversations/{id}?user_id={other}", TestContext.Current.CancellationToken);
        using var strangersRename = await Client.PatchAsJsonAsync($"/conversations/{id}?user_id={other}", new { chat_name = "mine now" }, TestContext.Current.CancellationToken);

        Assert.Equal("Résumé 日本語 🚀", item.Str("chat_name"));
        Assert.Equal("Résumé 日本語 🚀", (await read.ExpectAsync(HttpStatusCode.OK)).Str("chat_name"));
        Assert.Equal(2, item.Int("message_count"));
        await strangers.ExpectAsync(HttpStatusCode.NotFound);
        await strangersRename.ExpectAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("   ")]
    [InlineData("")]
    [InlineData("a name that is much too long for the sixty characters the column holds, really")]
    public async Task ARenameOutsideOneToSixtyCharactersIsA400NamingChatName(string chatName)
    {
        var user = ChatCalls.NewUserId();
        var id = (await Client.SendOkAsync("hello", user)).Str("conversation_id");

        using var response = await Client.PatchAsJsonAsync($"/conversations/{id}", new { user_id = user, chat_name = chatName }, TestContext.Current.CancellationToken);

        var problem = await response.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("chat_name", out _), problem.ToString());
        using var read = await Client.GetAsync($"/conversations/{id}?user_id={user}", TestContext.Current.CancellationToken);
        Assert.Equal("NEW CHAT", (await read.ExpectAsync(HttpStatusCode.OK)).Str("chat_name"));
    }

    [Fact]
    public async Task ADeletedConversationIsGoneFromEveryEndpointAndASecondDeleteIsA404()
    {
        var user = ChatCalls.NewUserId();
        var id = (await Client.SendOkAsync("hello", user)).Str("conversation_id");

        using var deleted = await Client.DeleteAsync($"/conversations/{id}?user_id={user}", TestContext.Current.CancellationToken);
        using var again = await Client.DeleteAsync($"/conversations/{id}?user_id={user}", TestContext.Current.CancellationToken);
        using var history = await Client.GetAsync($"/get-conversation-history/{id}", TestContext.Current.CancellationToken);
        using var item = await Client.GetAsync($"/conversations/{id}?user_id={user}", TestContext.Current.CancellationToken);
        using var send = await Client.SendJsonAsync("still there?", user, ChatCalls.NewMessageId(), id);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await again.ExpectAsync(HttpStatusCode.NotFound);
        await history.ExpectAsync(HttpStatusCode.NotFound);
        await item.ExpectAsync(HttpStatusCode.NotFound);
        await send.ExpectAsync(HttpStatusCode.NotFound);
        Assert.Empty(Ids(await ListAsync(user, "")));
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var count = new MySqlCommand("SELECT COUNT(*) FROM message_store WHERE conv_id = @conv", connection);
        count.Parameters.AddWithValue("@conv", id);
        Assert.Equal(0L, await count.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task DeletingAConversationDuringAStreamedReplyStopsTheReply()
    {
        var user = ChatCalls.NewUserId();
        var id = (await Client.SendOkAsync("first", user)).Str("conversation_id");
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Model.Behaviour = async (_, cancellationToken) =>
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return "never";
        };

        using var stream = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
        {
            Content = JsonContent.Create(new { message = "a long story", user_id = user, conversation_id = id }),
        }, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        using var deleted = await Client.DeleteAsync($"/conversations/{id}?user_id={user}", TestContext.Current.CancellationToken);
        var events = await ServerSentEvents.ReadAllAsync(stream);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal("error", events[^1].Name);
        Assert.Equal(404, events[^1].Data.Int("status"));
    }

    [Fact]
    public async Task TheHistoryPagesBackwardsFromTheNewestMessageAndKeepsItsWholeAnswerForOldClients()
    {
        var user = ChatCalls.NewUserId();
        var id = (await Client.SendOkAsync("m1", user)).Str("conversation_id");
        for (var i = 2; i <= 5; i++)
        {
            await Client.SendOkAsync($"m{i}", user, id);
        }

        var whole = await Client.HistoryAsync(id);
        var newest = await HistoryAsync(id, "limit=4");
        var older = await HistoryAsync(id, $"limit=4&before={newest.GetProperty("messages")[0].Int("message_no")}");
        var oldest = await HistoryAsync(id, $"limit=4&before={older.GetProperty("messages")[0].Int("message_no")}");

        Assert.Equal(Enumerable.Range(1, 10), Numbers(whole));
        Assert.False(whole.GetProperty("has_more").GetBoolean());
        Assert.Equal([7, 8, 9, 10], Numbers(newest));
        Assert.True(newest.GetProperty("has_more").GetBoolean());
        Assert.Equal([3, 4, 5, 6], Numbers(older));
        Assert.Equal([1, 2], Numbers(oldest));
        Assert.False(oldest.GetProperty("has_more").GetBoolean());
        Assert.Equal(10, newest.Int("message_count"));
        var none = await HistoryAsync(id, "limit=4&before=1");
        Assert.Equal(0, none.GetProperty("messages").GetArrayLength());
        Assert.False(none.GetProperty("has_more").GetBoolean());
        Assert.Equal(10, none.Int("message_count"));
        using var strangersNone = await Client.GetAsync($"/get-conversation-history/{id}?user_id={ChatCalls.NewUserId()}&before=1", TestContext.Current.CancellationToken);
        await strangersNone.ExpectAsync(HttpStatusCode.NotFound);
        using var bad = await Client.GetAsync($"/get-conversation-history/{id}?limit=501", TestContext.Current.CancellationToken);
        Assert.True((await bad.ExpectAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task SearchFindsOnlyTheUsersConversationsWithEveryWordInAnyScriptNewestFirstWithASnippet()
    {
        var (user, other) = (ChatCalls.NewUserId(), ChatCalls.NewUserId());
        var kyoto = (await Client.SendOkAsync("Planning a trip to Kyoto in spring", user)).Str("conversation_id");
        var munich = (await Client.SendOkAsync("Ich fahre morgen nach München zum Oktoberfest", user)).Str("conversation_id");
        var moscow = (await Client.SendOkAsync("Москва in winter, then Kyoto temples", user)).Str("conversation_id");
        var strangers = (await Client.SendOkAsync("Kyoto trip of someone else", other)).Str("conversation_id");

        var kyotoHits = await ListAsync(user, "q=kyoto");
        Assert.Equal([moscow, kyoto], Ids(kyotoHits));
        Assert.Contains("Kyoto", kyotoHits.GetProperty("data")[0].Str("snippet"));
        Assert.Equal([kyoto], Ids(await ListAsync(user, "q=Kyoto%20trip")));
        var umlaut = await ListAsync(user, $"q={Uri.EscapeDataString("MÜNCHEN")}");
        Assert.Equal([munich], Ids(umlaut));
        Assert.Contains("München", umlaut.GetProperty("data")[0].Str("snippet"));
        Assert.Equal([moscow], Ids(await ListAsync(user, $"q={Uri.EscapeDataString("москва")}")));
        Assert.Empty(Ids(await ListAsync(user, $"q={Uri.EscapeDataString("Münch")}")));
        Assert.Empty(Ids(await ListAsync(user, "q=Oktoberfest%20spring")));
        Assert.Empty(Ids(await ListAsync(user, "q=someone")));
        Assert.Equal([strangers], Ids(await ListAsync(other, "q=kyoto")));
        var paged = await ListAsync(user, "q=kyoto&limit=1");
        Assert.Equal([moscow], Ids(paged));
        Assert.Equal([kyoto], Ids(await ListAsync(user, $"q=kyoto&limit=1&after={paged.Str("last_id")}")));
        using var empty = await Client.GetAsync($"/conversations?user_id={user}&q=%21%21", TestContext.Current.CancellationToken);
        Assert.True((await empty.ExpectAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("q", out _));
    }

    [Fact]
    public async Task FeedbackOnAReplyShowsInTheHistoryAndGoesAgainButNotOnAUserMessageOrAnotherUsersReply()
    {
        var (user, other) = (ChatCalls.NewUserId(), ChatCalls.NewUserId());
        var sent = await Client.SendOkAsync("rate me", user);
        var (id, reply) = (sent.Str("conversation_id"), sent.Str("reply_message_id"));
        var feedbackPath = $"/conversations/{id}/messages/{reply}/feedback";

        using var rated = await Client.PutAsJsonAsync(feedbackPath, new { user_id = user, rating = "down", comment = "  Too short.  " }, TestContext.Current.CancellationToken);
        Assert.Equal("Too short.", (await rated.ExpectAsync(HttpStatusCode.OK)).Str("comment"));
        var shown = (await Client.HistoryAsync(id)).GetProperty("messages")[1].GetProperty("feedback");
        Assert.Equal(("down", "Too short."), (shown.Str("rating"), shown.Str("comment")));

        using var onUserMessage = await Client.PutAsJsonAsync(
            $"/conversations/{id}/messages/{sent.Str("message_id")}/feedback", new { user_id = user, rating = "up" }, TestContext.Current.CancellationToken);
        await onUserMessage.ExpectAsync(HttpStatusCode.NotFound);
        using var byStranger = await Client.PutAsJsonAsync(feedbackPath, new { user_id = other, rating = "up" }, TestContext.Current.CancellationToken);
        await byStranger.ExpectAsync(HttpStatusCode.NotFound);
        using var badRating = await Client.PutAsJsonAsync(feedbackPath, new { user_id = user, rating = "meh" }, TestContext.Current.CancellationToken);
        Assert.True((await badRating.ExpectAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("rating", out _));
        using var longComment = await Client.PutAsJsonAsync(feedbackPath, new { user_id = user, rating = "up", comment = new string('x', 2_001) }, TestContext.Current.CancellationToken);
        Assert.True((await longComment.ExpectAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("comment", out _));
        Assert.Equal("down", (await Client.HistoryAsync(id)).GetProperty("messages")[1].GetProperty("feedback").Str("rating"));

        using var removed = await Client.DeleteAsync($"{feedbackPath}?user_id={user}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.False((await Client.HistoryAsync(id)).GetProperty("messages")[1].TryGetProperty("feedback", out _));
    }

    [Fact]
    public async Task WithTheOfflineResponderANewConversationIsTitledWithTheFirstWordsOfItsMessage()
    {
        await using var offline = new ApiFactory(ConnectionString, settings: new() { ["Chat:AutoTitle"] = "true" });
        using var client = offline.CreateHttpClient();
        var user = ChatCalls.NewUserId();

        var id = (await client.SendOkAsync("  Plan my weekend hiking trip in the Swiss Alps, please", user)).Str("conversation_id");
        await client.SendOkAsync("And what should I pack?", user, id);

        using var item = await client.GetAsync($"/conversations/{id}?user_id={user}", TestContext.Current.CancellationToken);
        Assert.Equal("Plan my weekend hiking trip in", (await item.ExpectAsync(HttpStatusCode.OK)).Str("chat_name"));
    }

    private async Task<JsonElement> ListAsync(long user, string query)
    {
        using var response = await Client.GetAsync($"/conversations?user_id={user}&{query}");
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    private async Task<JsonElement> HistoryAsync(string id, string query)
    {
        using var response = await Client.GetAsync($"/get-conversation-history/{id}?{query}");
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    private static List<string> Ids(JsonElement list) => [.. list.GetProperty("data").EnumerateArray().Select(c => c.Str("conversation_id"))];

    private static List<int> Numbers(JsonElement history) =>
        [.. history.GetProperty("messages").EnumerateArray().Select(m => m.Int("message_no"))];
}
