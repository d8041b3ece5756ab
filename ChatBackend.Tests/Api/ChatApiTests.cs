using System.Net;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

[Trait("Category", "Api")]
public sealed class ChatApiTests(ApiFixture api) : ApiTest(api), IClassFixture<ApiFixture>
{
    [Fact]
    public async Task RootSaysWorking()
    {
        using var response = await Client.GetAsync("/", TestContext.Current.CancellationToken);
        var body = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Working", body.Str("status"));
    }

    [Fact]
    public async Task QueryStringSendAsTheOriginalClientsDoStartsAConversation()
    {
        var userId = ChatCalls.NewUserId();
        using var response = await Client.SendQueryAsync("Hello from the query string", userId, "q-1");

        var body = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("echo: Hello from the query string", body.Str("message"));
        Assert.Matches("^[a-z0-9]{8}-[a-z0-9]{4}$", body.Str("conversation_id"));
        Assert.Equal("q-1", body.Str("message_id"));
        Assert.Equal(2, body.Int("message_count"));
    }

    [Fact]
    public async Task FormBodySendIsAccepted()
    {
        var userId = ChatCalls.NewUserId();
        using var response = await Client.SendFormAsync("Hello from a form", userId, "f-1");

        var body = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("echo: Hello from a form", body.Str("message"));
    }

    [Fact]
    public async Task JsonBodySendWithoutMessageIdGetsOneFromTheServer()
    {
        var userId = ChatCalls.NewUserId();
        using var response = await Client.SendJsonAsync("Hello from JSON", userId, messageId: null);

        var body = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("echo: Hello from JSON", body.Str("message"));
        Assert.StartsWith("m-", body.Str("message_id"));
        Assert.StartsWith("r-", body.Str("reply_message_id"));
    }

    [Fact]
    public async Task FollowUpsSeeTheConversationSoFarAndHistoryIsInOrder()
    {
        var userId = ChatCalls.NewUserId();
        var first = await Client.SendOkAsync("one", userId);
        var conversationId = first.Str("conversation_id");
        await Client.SendOkAsync("two", userId, conversationId);
        var third = await Client.SendOkAsync("three", userId, conversationId);

        Assert.Equal(conversationId, third.Str("conversation_id"));
        Assert.Equal(6, third.Int("message_count"));
        var lastCall = Model.Calls[^1];
        Assert.Equal(
            ["system", "user", "assistant", "user", "assistant", "user"],
            lastCall.Select(message => message.Role.Value));
        Assert.Equal(["one", "echo: one", "two", "echo: two", "three"], lastCall.Skip(1).Select(message => message.Text));

        var history = await Client.HistoryAsync(conversationId);
        Assert.Equal(6, history.Int("message_count"));
        var messages = history.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["one", "echo: one", "two", "echo: two", "three", "echo: three"], messages.Select(m => m.Str("message")));
        Assert.Equal(["user", "assistant", "user", "assistant", "user", "assistant"], messages.Select(m => m.Str("role")));
        Assert.Equal([1, 2, 3, 4, 5, 6], messages.Select(m => m.Int("message_no")));
        Assert.All(messages, m => Assert.Equal("Success", m.Str("status")));
    }

    [Theory]
    [InlineData("Emoji 😀🚀👩‍💻 and a flag 🇯🇵")]
    [InlineData("日本語のメッセージ、中文消息，한국어 메시지")]
    [InlineData("مرحبا بالعالم — שלום עולם")]
    public async Task TextInAnyScriptRoundTripsInEveryRequestForm(string text)
    {
        var userId = ChatCalls.NewUserId();
        using var query = await Client.SendQueryAsync(text, userId, ChatCalls.NewMessageId());
        var conversationId = (await query.ExpectAsync(HttpStatusCode.OK)).Str("conversation_id");
        using var form = await Client.SendFormAsync(text, userId, ChatCalls.NewMessageId(), conversationId);
        await form.ExpectAsync(HttpStatusCode.OK);
        using var jsonResponse = await Client.SendJsonAsync(text, userId, ChatCalls.NewMessageId(), conversationId);
        var json = await jsonResponse.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal($"echo: {text}", json.Str("message"));
        // Letters of every script come back as themselves, not as \u escapes.
        var firstWord = text.Split(' ')[0];
        Assert.Contains(firstWord.Where(char.IsLetter).FirstOrDefault().ToString(), json.GetRawText());

        var history = await Client.HistoryAsync(conversationId, userId);
        var messages = history.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(6, messages.Count);
        Assert.All(messages.Where(m => m.Str("role") == "user"), m => Assert.Equal(text, m.Str("message")));
        Assert.All(messages.Where(m => m.Str("role") == "assistant"), m => Assert.Equal($"echo: {text}", m.Str("message")));
    }

    [Fact]
    public async Task TwentyConcurrentSendsIntoOneConversationEachGetTheirReplyDirectlyAfter()
    {
        var userId = ChatCalls.NewUserId();
        var conversationId = (await Client.SendOkAsync("start", userId)).Str("conversation_id");
        Model.Behaviour = async (messages, cancellationToken) =>
        {
            await Task.Delay(Random.Shared.Next(0, 30), cancellationToken);
            return ScriptedChatClient.Echo(messages);
        };

        var sends = Enumerable.Range(1, 20).Select(async i =>
        {
            using var response = await Client.SendJsonAsync($"concurrent {i}", userId, $"c-{i}", conversationId);
            return await response.ExpectAsync(HttpStatusCode.OK);
        });
        var replies = await Task.WhenAll(sends);

        Assert.All(replies, reply => Assert.StartsWith("echo: concurrent ", reply.Str("message")));
        var history = await Client.HistoryAsync(conversationId, userId);
        var messages = history.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(42, messages.Count);
        Assert.Equal(42, history.Int("message_count"));
        Assert.Equal(Enumerable.Range(1, 42), messages.Select(m => m.Int("message_no")));
        for (var i = 0; i < messages.Count; i += 2)
        {
            Assert.Equal("user", messages[i].Str("role"));
            Assert.Equal("assistant", messages[i + 1].Str("role"));
            Assert.Equal($"echo: {messages[i].Str("message")}", messages[i + 1].Str("message"));
        }
    }

    [Fact]
    public async Task RetriedMessageIdReturnsTheStoredReplyWithoutCallingTheModelAgain()
    {
        var userId = ChatCalls.NewUserId();
        var conversationId = (await Client.SendOkAsync("first", userId)).Str("conversation_id");
        var original = await Client.SendOkAsync("retried", userId, conversationId, "retry-1");
        var callsBefore = Model.CallCount;

        using var again = await Client.SendQueryAsync("retried", userId, "retry-1", conversationId);
        var replayed = await again.ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(callsBefore, Model.CallCount);
        Assert.Equal(original.Str("message"), replayed.Str("message"));
        Assert.Equal(original.Str("reply_message_id"), replayed.Str("reply_message_id"));
        var history = await Client.HistoryAsync(conversationId);
        Assert.Equal(4, history.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task ConversationsBelongToTheirUser()
    {
        var owner = ChatCalls.NewUserId();
        var stranger = ChatCalls.NewUserId();
        var conversationId = (await Client.SendOkAsync("mine", owner)).Str("conversation_id");

        using var send = await Client.SendJsonAsync("not yours", stranger, ChatCalls.NewMessageId(), conversationId);
        var sendProblem = await send.ExpectAsync(HttpStatusCode.NotFound);
        using var read = await Client.GetAsync($"/get-conversation-history/{conversationId}?user_id={stranger}", TestContext.Current.CancellationToken);
        var readProblem = await read.ExpectAsync(HttpStatusCode.NotFound);
        using var unknown = await Client.GetAsync($"/get-conversation-history/zzzzzzzz-zzzz?user_id={owner}", TestContext.Current.CancellationToken);
        var unknownProblem = await unknown.ExpectAsync(HttpStatusCode.NotFound);

        // Another user's conversation is indistinguishable from one that does not exist.
        Assert.Equal(unknownProblem.Str("title"), readProblem.Str("title"));
        Assert.Equal(unknownProblem.Str("detail"), sendProblem.Str("detail"));
        Assert.Equal(2, (await Client.HistoryAsync(conversationId, owner)).GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task SendsWriteTheOriginalTablesWithTrueCounts()
    {
        var userId = ChatCalls.NewUserId();
        var conversationId = (await Client.SendOkAsync("count me", userId)).Str("conversation_id");
        await Client.SendOkAsync("and me", userId, conversationId);

        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand(
            "SELECT chat_name, user_id, message_count FROM conversation_store WHERE conv_id = @conv", connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal("NEW CHAT", reader.GetString(0));
        Assert.Equal(userId, reader.GetInt64(1));
        Assert.Equal(4, reader.GetInt32(2));
    }
}
