using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.ApiService.Chat;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML.Tokenizers;

namespace ChatBackend.Tests.Api;

/// <summary>The model behind the API, through the real OpenAI and Azure OpenAI SDKs, against a fake server on loopback.</summary>
[Trait("Category", "Api")]
public sealed class ModelProviderTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{
    [Fact]
    public async Task TheModelReceivesTheSystemPromptThenEarlierTurnsWithTheirRolesThenTheNewMessage()
    {
        using var client = StartApi(new()
        {
            ["Chat:SystemPrompt"] = "Answer like a pirate.",
            ["Chat:MaxOutputTokens"] = "77",
            ["Chat:Temperature"] = "0.3",
        });
        var user = ChatCalls.NewUserId();
        Fake.Enqueue(FakeReply.Say("Ahoy."), FakeReply.Say("Arr, fine."));

        var first = await client.SendOkAsync("Hello", user);
        var second = await client.SendOkAsync("How are you?", user, first.Str("conversation_id"));

        Assert.Equal(2, Fake.Requests.Count);
        var request = Fake.Requests[1];
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("gpt-4o-mini", request.Model);
        Assert.Equal(
            [("system", "Answer like a pirate."), ("user", "Hello"), ("assistant", "Ahoy."), ("user", "How are you?")],
            request.Messages);
        Assert.Equal(77, request.MaxTokens);
        Assert.Equal(0.3, request.Temperature!.Value, 3);
        Assert.Equal("Bearer fake-key", request.Header("Authorization"));
        Assert.False(request.Stream);

        Assert.Equal("Arr, fine.", second.Str("message"));
        Assert.Equal("gpt-4o-mini", second.Str("model"));
        Assert.Equal("stop", second.Str("finish_reason"));
        AssertFakeUsage(second.GetProperty("usage"));
        var reply = (await client.HistoryAsync(first.Str("conversation_id"))).GetProperty("messages")[3];
        Assert.Equal("assistant", reply.Str("role"));
        Assert.Equal("gpt-4o-mini", reply.Str("model"));
        Assert.Equal("stop", reply.Str("finish_reason"));
        AssertFakeUsage(reply.GetProperty("usage"));
    }

    [Fact]
    public async Task AzureOpenAIIsAddressedByDeploymentWithItsApiKey()
    {
        using var client = StartApi(new() { ["ConnectionStrings:openai"] = Fake.AzureConnectionString("chat-deployment") });

        var reply = await client.SendOkAsync("Hello Azure", ChatCalls.NewUserId());

        var request = Assert.Single(Fake.Requests);
        Assert.Contains("chat-deployment", request.Path + " " + request.Model);
        Assert.Equal("fake-azure-key", request.Header("api-key"));
        Assert.Equal([("system", "You are a helpful assistant. Be concise and friendly."), ("user", "Hello Azure")], request.Messages);
        Assert.Equal("echo: Hello Azure", reply.Str("message"));
    }

    [Fact]
    public async Task TheOldestTurnsAreDroppedWholeToFitTheTokenBudget()
    {
        const int budget = 150;
        using var client = StartApi(new() { ["Chat:HistoryTokenBudget"] = budget.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var user = ChatCalls.NewUserId();
        string? conversationId = null;
        var sent = new List<string>();
        for (var turn = 1; turn <= 6; turn++)
        {
            var message = $"Turn {turn}: " + string.Join(' ', Enumerable.Repeat("apple", 20));
            sent.Add(message);
            conversationId = (await client.SendOkAsync(message, user, conversationId)).Str("conversation_id");
        }

        var messages = Fake.Requests[^1].Messages;
        Assert.Equal("system", messages[0].Role);
        Assert.Equal(("user", sent[^1]), messages[^1]);
        var earlier = messages.Skip(1).SkipLast(1).ToList();
        Assert.True(earlier.Count > 0 && earlier.Count % 2 == 0, $"Whole turns only, got {earlier.Count} earlier messages.");
        var keptTurns = earlier.Count / 2;
        Assert.True(keptTurns < 5, "Some turns must have been dropped.");
        for (var i = 0; i < keptTurns; i++)
        {
            var turnIndex = sent.Count - 1 - keptTurns + i;
            Assert.Equal(("user", sent[turnIndex]), earlier[2 * i]);
            Assert.Equal(("assistant", $"echo: {sent[turnIndex]}"), earlier[(2 * i) + 1]);
        }

        // The budget holds, and the next older turn would not have fitted.
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt-4o-mini");
        int Cost(string text) => tokenizer.CountTokens(text) + PromptBuilder.MessageOverhead;
        var used = messages.Sum(message => Cost(message.Content));
        Assert.True(used <= budget, $"{used} tokens sent, budget {budget}.");
        var olderTurn = sent[sent.Count - 2 - keptTurns];
        Assert.True(used + Cost(olderTurn) + Cost($"echo: {olderTurn}") > budget);
    }

    [Fact]
    public async Task AMessageThatAloneExceedsTheBudgetIsA400NamingTheLimitAndNothingIsStored()
    {
        using var client = StartApi(new() { ["Chat:HistoryTokenBudget"] = "50" });
        var user = ChatCalls.NewUserId();

        using var response = await client.SendJsonAsync(string.Join(' ', Enumerable.Repeat("banana", 60)), user, ChatCalls.NewMessageId());

        var problem = await response.ExpectAsync(HttpStatusCode.BadRequest);
        var error = problem.GetProperty("errors").GetProperty("message")[0].GetString();
        Assert.Contains("Chat:HistoryTokenBudget", error);
        Assert.Contains("50 tokens", error);
        Assert.Empty(Fake.Requests);
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
    }

    [Fact]
    public async Task AFailedTurnIsNotReplayedAsContext()
    {
        using var client = StartApi(new() { ["Chat:MaxRetries"] = "0" });
        var user = ChatCalls.NewUserId();
        Fake.Enqueue(FakeReply.Say("one"), new FakeReply.Status(500), FakeReply.Say("three"));

        var conversationId = (await client.SendOkAsync("first", user)).Str("conversation_id");
        using (var failed = await client.SendJsonAsync("second", user, ChatCalls.NewMessageId(), conversationId))
        {
            await failed.ExpectAsync(HttpStatusCode.BadGateway);
        }
        await client.SendOkAsync("third", user, conversationId);

        Assert.Equal(
            [("system", "You are a helpful assistant. Be concise and friendly."), ("user", "first"), ("assistant", "one"), ("user", "third")],
            Fake.Requests[^1].Messages);
    }

    [Fact]
    public async Task A429IsRetriedAfterItsRetryAfter()
    {
        using var client = StartApi();
        Fake.Enqueue(new FakeReply.Status(429, RetryAfter: "1"), FakeReply.Say("worth the wait"));

        var reply = await client.SendOkAsync("hello", ChatCalls.NewUserId());

        Assert.Equal("worth the wait", reply.Str("message"));
        Assert.Equal(2, Fake.Requests.Count);
        Assert.True(reply.Int("elapsed_ms") >= 900, $"The retry came after {reply.Int("elapsed_ms")} ms, before Retry-After's 1 s.");
    }

    [Fact]
    public async Task ARetryAfterLongerThanTheTurnMayTakeIsNotWaitedForButAnsweredWith502AtOnce()
    {
        using var client = StartApi(new() { ["Chat:Timeout"] = "00:00:05" });
        Fake.Enqueue(new FakeReply.Status(429, RetryAfter: "3600"));

        using var response = await client.SendJsonAsync("hello", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var problem = await response.ExpectAsync(HttpStatusCode.BadGateway);
        Assert.Single(Fake.Requests);
        var stored = Assert.Single((await client.HistoryAsync(problem.Str("conversation_id"))).GetProperty("messages").EnumerateArray());
        Assert.True(stored.Int("elapsed_ms") < 4_000, $"It waited {stored.Int("elapsed_ms")} ms instead of failing at once.");
    }

    [Fact]
    public async Task ServerErrorsAreRetriedThenA502StoresTheMessageAsErrorAndARetryCompletesTheTurnInPlace()
    {
        using var client = StartApi(new() { ["Chat:MaxRetries"] = "2" });
        var user = ChatCalls.NewUserId();
        var messageId = ChatCalls.NewMessageId();
        Fake.Enqueue(new FakeReply.Status(500), new FakeReply.Status(503), new FakeReply.Status(502));

        using var failed = await client.SendJsonAsync("please answer", user, messageId);

        var problem = await failed.ExpectAsync(HttpStatusCode.BadGateway);
        Assert.Equal(3, Fake.Requests.Count);
        var conversationId = problem.Str("conversation_id");
        Assert.Equal(messageId, problem.Str("message_id"));
        var stored = Assert.Single((await client.HistoryAsync(conversationId)).GetProperty("messages").EnumerateArray());
        Assert.Equal("Error", stored.Str("status"));
        Assert.Equal("provider_error", stored.Str("error"));
        Assert.Equal(JsonValueKind.Number, stored.GetProperty("elapsed_ms").ValueKind);

        var retried = await client.SendOkAsync("please answer", user, conversationId, messageId);

        Assert.Equal("echo: please answer", retried.Str("message"));
        var history = await client.HistoryAsync(conversationId);
        Assert.Equal(2, history.Int("message_count"));
        Assert.Equal(["Success", "Success"], history.GetProperty("messages").EnumerateArray().Select(m => m.Str("status")));
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", messageId));
    }

    [Fact]
    public async Task AModelSlowerThanTheTimeoutIsA504AndTheMessageIsStoredAsError()
    {
        using var client = StartApi(new() { ["Chat:Timeout"] = "00:00:01" });
        Fake.Enqueue(new FakeReply.Text(["too late"], Delay: TimeSpan.FromSeconds(10)));

        using var response = await client.SendJsonAsync("quick, please", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var problem = await response.ExpectAsync(HttpStatusCode.GatewayTimeout);
        var stored = (await client.HistoryAsync(problem.Str("conversation_id"))).GetProperty("messages")[0];
        Assert.Equal("Error", stored.Str("status"));
        Assert.Equal("timeout", stored.Str("error"));
    }

    [Fact]
    public async Task ANewConversationIsTitledByTheModelAfterItsFirstReplyAndAFailedTitleLeavesNewChat()
    {
        using var client = StartApi(new() { ["Chat:AutoTitle"] = "true", ["Chat:MaxRetries"] = "0" });
        var user = ChatCalls.NewUserId();
        Fake.Enqueue(FakeReply.Say("Kyoto has many temples."), FakeReply.Say("\"Temples of Kyoto.\""));
        Fake.Enqueue(FakeReply.Say("Sure."), new FakeReply.Status(500));

        var titled = (await client.SendOkAsync("Which temples should I see in Kyoto?", user)).Str("conversation_id");
        await WaitForTitleAsync(client, titled, user, "Temples of Kyoto");
        var untitled = (await client.SendOkAsync("Hello", user)).Str("conversation_id");
        await Eventually.WaitForAsync(() => Fake.Requests.Count == 4, "the second title requested");
        await client.SendOkAsync("And the gardens?", user, titled);

        Assert.Equal("NEW CHAT", await TitleAsync(client, untitled, user));
        var titleRequest = Fake.Requests[1];
        Assert.Equal("Which temples should I see in Kyoto?", titleRequest.Messages[^1].Content);
        Assert.Equal("system", titleRequest.Messages[0].Role);
        Assert.Equal(5, Fake.Requests.Count);
        Assert.Equal("Temples of Kyoto", await TitleAsync(client, titled, user));
    }

    [Fact]
    public async Task ARenameBeforeTheTitleArrivesIsNeverOverwritten()
    {
        using var client = StartApi(new() { ["Chat:AutoTitle"] = "true" });
        var user = ChatCalls.NewUserId();
        Fake.Enqueue(FakeReply.Say("Reply."), new FakeReply.Text(["Late title"], Delay: TimeSpan.FromSeconds(1)));

        var id = (await client.SendOkAsync("Name me later", user)).Str("conversation_id");
        using var renamed = await client.PatchAsJsonAsync($"/conversations/{id}", new { user_id = user, chat_name = "My own name" }, TestContext.Current.CancellationToken);
        await renamed.ExpectAsync(HttpStatusCode.OK);
        await Eventually.WaitForAsync(() => Fake.Requests.Count == 2, "the title requested");
        await Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken);

        Assert.Equal("My own name", await TitleAsync(client, id, user));
    }

    private static async Task<string> TitleAsync(HttpClient client, string id, long user)
    {
        using var response = await client.GetAsync($"/conversations/{id}?user_id={user}");
        return (await response.ExpectAsync(HttpStatusCode.OK)).Str("chat_name");
    }

    private static Task WaitForTitleAsync(HttpClient client, string id, long user, string title) =>
        Eventually.WaitForAsync(async () => await TitleAsync(client, id, user) == title, $"{id} titled '{title}'");

    [Fact]
    public async Task AProviderThatKeepsFailingUntilTheTimeRunsOutIsA502NamingItsFailureNotA504()
    {
        // Retry-After paces the attempts (t = 0 s, 2 s), so the 3-s limit falls in the wait after the second 500.
        using var client = StartApi(new() { ["Chat:Timeout"] = "00:00:03", ["Chat:MaxRetries"] = "10" });
        Fake.Enqueue(new FakeReply.Status(500, RetryAfter: "2"), new FakeReply.Status(500, RetryAfter: "2"));

        using var response = await client.SendJsonAsync("hello", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var problem = await response.ExpectAsync(HttpStatusCode.BadGateway);
        Assert.Contains("HTTP 500", problem.Str("detail"));
        Assert.Equal(2, Fake.Requests.Count);
        var stored = Assert.Single((await client.HistoryAsync(problem.Str("conversation_id"))).GetProperty("messages").EnumerateArray());
        Assert.Equal("Error", stored.Str("status"));
        Assert.Equal("provider_error", stored.Str("error"));
    }

    [Fact]
    public async Task AFailureThenAnAttemptStillRunningWhenTheTimeRunsOutIsA504()
    {
        using var client = StartApi(new() { ["Chat:Timeout"] = "00:00:02", ["Chat:MaxRetries"] = "10" });
        Fake.Enqueue(new FakeReply.Status(500, RetryAfter: "1"), new FakeReply.Text(["too late"], Delay: TimeSpan.FromSeconds(10)));

        using var response = await client.SendJsonAsync("hello", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var problem = await response.ExpectAsync(HttpStatusCode.GatewayTimeout);
        Assert.Equal(2, Fake.Requests.Count);
        var stored = Assert.Single((await client.HistoryAsync(problem.Str("conversation_id"))).GetProperty("messages").EnumerateArray());
        Assert.Equal("timeout", stored.Str("error"));
    }

    [Theory]
    [InlineData("malformed JSON", "provider_error")]
    [InlineData("empty reply", "empty_reply")]
    [InlineData("dropped connection", "provider_error")]
    // A whole completion without a finish reason does not parse in the SDK; a stream without one does (StreamingTests).
    [InlineData("no finish reason", "provider_error")]
    public async Task ABrokenAnswerIsA502AndTheMessageIsStoredAsError(string failure, string errorCode)
    {
        using var client = StartApi(new() { ["Chat:MaxRetries"] = "0" });
        Fake.Enqueue(failure switch
        {
            "malformed JSON" => new FakeReply.MalformedJson(),
            "empty reply" => FakeReply.Say("  "),
            "dropped connection" => new FakeReply.Drop(),
            _ => new FakeReply.Text(["cut short"], FinishReason: null),
        });

        using var response = await client.SendJsonAsync("hello", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var problem = await response.ExpectAsync(HttpStatusCode.BadGateway);
        var stored = Assert.Single((await client.HistoryAsync(problem.Str("conversation_id"))).GetProperty("messages").EnumerateArray());
        Assert.Equal("Error", stored.Str("status"));
        Assert.Equal(errorCode, stored.Str("error"));
    }

    [Fact]
    public async Task TheKeyNeverAppearsInLogsOrResponses()
    {
        const string key = "sk-test-3f9a1c7e5b";
        var logs = new CapturedLogs();
        using var client = StartApiFactory(
            new() { ["ConnectionStrings:openai"] = Fake.OpenAIConnectionString(key: key), ["Chat:MaxRetries"] = "0" },
            services => services.AddSingleton<ILoggerProvider>(logs)).CreateHttpClient();
        Fake.Enqueue(FakeReply.Say("fine"), new FakeReply.Status(401), new FakeReply.MalformedJson());
        var user = ChatCalls.NewUserId();

        var bodies = new List<string> { (await client.SendOkAsync("one", user)).GetRawText() };
        for (var i = 0; i < 2; i++)
        {
            using var failed = await client.SendJsonAsync("two", user, ChatCalls.NewMessageId());
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
            bodies.Add(await failed.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        Assert.All(Fake.Requests, request => Assert.Equal($"Bearer {key}", request.Header("Authorization")));
        Assert.Contains(logs.Lines, line => line.Contains("model 'gpt-4o-mini' over the OpenAI protocol", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, line => line.Contains("provider_error", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.Contains(key, StringComparison.Ordinal));
        Assert.DoesNotContain(bodies, body => body.Contains(key, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Endpoint=not a url;Key=sk-secret-1;Model=m", "Endpoint")]
    [InlineData("Endpoint=http://localhost:11434/v1;Key=sk-secret-1", "Model")]
    [InlineData("Key=sk-secret-1;Deployment=d", "Endpoint")]
    [InlineData("Endpoint=https://x.openai.azure.com/;Key=sk-secret-1;Model=m;Deployment=d", "Deployment")]
    [InlineData("Endpoint=https://x.openai.azure.com/;Key=sk-secret-1;Region=eu", "Region")]
    public async Task AMalformedModelSettingStopsTheApiAtStartNamingTheKey(string connectionString, string named)
    {
        // The API as its own process, as it is deployed: it must exit at start, before serving anything.
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(typeof(PromptBuilder).Assembly.Location)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(typeof(PromptBuilder).Assembly.Location);
        start.ArgumentList.Add("--urls=http://127.0.0.1:0");
        start.Environment["ConnectionStrings__openai"] = connectionString;
        start.Environment["ConnectionStrings__chatdb"] = ConnectionString;
        using var api = Process.Start(start)!;
        var output = api.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = api.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await api.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);

        var text = await output + await errors;
        Assert.NotEqual(0, api.ExitCode);
        Assert.Contains("ConnectionStrings:openai", text);
        Assert.Contains(named, text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("sk-secret-1", text);
    }

    private static void AssertFakeUsage(JsonElement usage)
    {
        Assert.Equal(FakeOpenAIServer.PromptTokens, usage.Int("input_tokens"));
        Assert.Equal(FakeOpenAIServer.CompletionTokens, usage.Int("output_tokens"));
        Assert.Equal(FakeOpenAIServer.PromptTokens + FakeOpenAIServer.CompletionTokens, usage.Int("total_tokens"));
    }
}
