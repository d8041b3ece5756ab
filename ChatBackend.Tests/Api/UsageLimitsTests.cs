using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatBackend.Tests.Api;

/// <summary>
/// RateLimits (sends per minute, turns at once, per user) and Quotas:DailyTokensPerUser: a refusal is a 429 problem
/// with Retry-After that stores nothing and calls no model; the quota is counted in the database, for every instance.
/// </summary>
[Trait("Category", "Api")]
public sealed class UsageLimitsTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>, IAsyncDisposable
{
    // The class's tests share a database; each starts the APIs its limits need, with a model of its own.
    private readonly ScriptedChatClient _model = new();
    private readonly List<ApiFactory> _apis = [];
    private readonly string _connectionString = database.ConnectionString;

    public async ValueTask DisposeAsync()
    {
        foreach (var api in _apis)
        {
            await api.DisposeAsync();
        }
    }

    [Fact]
    public async Task SendsAndStreamsOverSendsPerMinuteAre429sWithRetryAfterThatStoreNothing()
    {
        using var client = Start(new() { ["RateLimits:SendsPerMinute"] = "3" });
        var (user, other) = (ChatCalls.NewUserId(), ChatCalls.NewUserId());

        await client.SendOkAsync("one", user);
        await client.SendOkAsync("two", user);
        using (var stream = await client.PostAsJsonAsync("/chat-message/stream", new { message = "three", user_id = user }, TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            await stream.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        }
        using var refusedSend = await client.SendJsonAsync("four", user, ChatCalls.NewMessageId());
        using var refusedStream = await client.PostAsJsonAsync("/chat-message/stream", new { message = "five", user_id = user }, TestContext.Current.CancellationToken);
        using var others = await client.SendJsonAsync("another user's", other);

        foreach (var refused in new[] { refusedSend, refusedStream })
        {
            var problem = await refused.ExpectAsync(HttpStatusCode.TooManyRequests);
            Assert.Equal("https://www.rfc-editor.org/rfc/rfc6585#section-4", problem.Str("type"));
            Assert.Equal("Too many sends", problem.Str("title"));
            Assert.Contains("RateLimits:SendsPerMinute", problem.Str("detail"));
            var retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
            Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
            Assert.Equal((int)retryAfter.TotalSeconds, problem.Int("retry_after"));
        }
        await others.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, await ConversationCountAsync(client, user));
        Assert.Equal(4, _model.CallCount);
    }

    [Fact]
    public async Task ATurnOverConcurrentTurnsPerUserIsA429UntilOneHasFinished()
    {
        var gate = new TaskCompletionSource();
        _model.Behaviour = async (messages, cancellationToken) =>
        {
            if (messages[^1].Text == "slow")
            {
                await gate.Task.WaitAsync(cancellationToken);
            }
            return ScriptedChatClient.Echo(messages);
        };
        using var client = Start(new() { ["RateLimits:ConcurrentTurnsPerUser"] = "1" });
        var user = ChatCalls.NewUserId();

        var slow = client.SendJsonAsync("slow", user, ChatCalls.NewMessageId());
        await Eventually.WaitForAsync(() => _model.CallCount == 1, "the slow turn at the model");
        using var refused = await client.SendJsonAsync("while slow", user, ChatCalls.NewMessageId());
        using var otherUser = await client.SendJsonAsync("someone else", ChatCalls.NewUserId(), ChatCalls.NewMessageId());
        gate.SetResult();
        using var slowResponse = await slow;
        using var after = await client.SendJsonAsync("after", user, ChatCalls.NewMessageId());

        var problem = await refused.ExpectAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("Too many replies at once", problem.Str("title"));
        Assert.NotNull(refused.Headers.RetryAfter);
        await otherUser.ExpectAsync(HttpStatusCode.OK);
        await slowResponse.ExpectAsync(HttpStatusCode.OK);
        await after.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, _model.CallCount);
    }

    [Fact]
    public async Task WithABearerSchemeTheLimitsDefaultToFourTurnsAtOnce()
    {
        var issuer = new SymmetricTokens();
        var gate = new TaskCompletionSource();
        _model.Behaviour = async (messages, cancellationToken) =>
        {
            await gate.Task.WaitAsync(cancellationToken);
            return ScriptedChatClient.Echo(messages);
        };
        using var client = Start(issuer.Settings()).WithToken(issuer.Create(Tokens.NewSubject()));

        var running = Enumerable.Range(0, 4).Select(i => client.PostAsJsonAsync("/chat-message", new { message = $"turn {i}" })).ToArray();
        await Eventually.WaitForAsync(() => _model.CallCount == 4, "four turns at the model");
        using var fifth = await client.PostAsJsonAsync("/chat-message", new { message = "fifth" }, TestContext.Current.CancellationToken);
        gate.SetResult();
        var answered = await Task.WhenAll(running);

        Assert.Equal("RateLimits:ConcurrentTurnsPerUser", (await fifth.ExpectAsync(HttpStatusCode.TooManyRequests)).Str("detail")
            .Split('(', ')')[1]);
        Assert.All(answered, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
    }

    [Fact]
    public async Task TheDailyTokenQuotaHoldsAcrossTwoInstancesAndTheReplyThatCrossesItIsFinished()
    {
        const int limit = 80;
        var settings = new Dictionary<string, string?> { ["Quotas:DailyTokensPerUser"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        using var a = Start(settings);
        using var b = Start(settings);
        var user = ChatCalls.NewUserId();

        // Sends alternate between the instances until one is refused; each before it was answered in full.
        var answered = new List<JsonElement>();
        long usedBeforeLast = 0;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var client = i % 2 == 0 ? a : b;
            var before = await UsageAsync(client, user);
            var response = await client.SendJsonAsync($"message number {i} of a user with a quota", user, ChatCalls.NewMessageId());
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
                continue;
            }
            answered.Add(await response.ExpectAsync(HttpStatusCode.OK));
            usedBeforeLast = before.GetProperty("tokens_used").GetInt64();
            response.Dispose();
        }
        Assert.NotNull(refused);
        var problem = await refused.ExpectAsync(HttpStatusCode.TooManyRequests);
        var usage = await UsageAsync(answered.Count % 2 == 0 ? b : a, user);
        var onTheOther = await (answered.Count % 2 == 0 ? b : a).SendJsonAsync("and here?", user, ChatCalls.NewMessageId());
        var last = answered[^1];
        using var retried = await a.SendJsonAsync(
            $"message number {answered.Count - 1} of a user with a quota", user, last.Str("message_id"), last.Str("conversation_id"));

        Assert.Equal("tag:chatbackend,2026:daily-token-quota", problem.Str("type"));
        Assert.Contains("Quotas:DailyTokensPerUser", problem.Str("detail"));
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        Assert.True(answered.Count >= 2, "The first sends fit the quota.");
        Assert.True(usedBeforeLast < limit, "The last reply started below the quota.");
        Assert.True(usage.GetProperty("tokens_used").GetInt64() >= limit, "and crossed it, finished rather than cut.");
        Assert.Equal(limit, usage.GetProperty("tokens_limit").GetInt64());
        Assert.Equal(answered.Count, usage.GetProperty("sends_today").GetInt32());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd"), usage.Str("date"));
        Assert.Equal(HttpStatusCode.TooManyRequests, onTheOther.StatusCode);
        Assert.Equal(last.Str("message"), (await retried.ExpectAsync(HttpStatusCode.OK)).Str("message"));
        Assert.Equal(answered.Count, _model.CallCount);
        Assert.Equal(answered.Count, await ConversationCountAsync(a, user));
        refused.Dispose();
        onTheOther.Dispose();
    }

    [Fact]
    public async Task UsageWithoutASchemeNeedsAUserIdAndSaysThereIsNoLimit()
    {
        using var client = Start();
        var user = ChatCalls.NewUserId();
        await client.SendOkAsync("count me", user);

        using var withoutUser = await client.GetAsync("/usage", TestContext.Current.CancellationToken);
        var usage = await UsageAsync(client, user);

        Assert.Equal("user_id", (await withoutUser.ExpectAsync(HttpStatusCode.BadRequest)).GetProperty("errors").EnumerateObject().Single().Name);
        Assert.Equal(user, usage.GetProperty("user_id").GetInt64());
        Assert.True(usage.GetProperty("tokens_used").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Null, usage.GetProperty("tokens_limit").ValueKind);
        Assert.Equal(1, usage.GetProperty("sends_today").GetInt32());
    }

    [Fact]
    public async Task WithoutASchemeTheApiWarnsOnceAtStartThatRequestsNameTheirOwnUser()
    {
        var logs = new CapturedLogs();
        var api = new ApiFactory(_connectionString, _model, configureServices: services => services.AddSingleton<ILoggerProvider>(logs));
        _apis.Add(api);
        using var client = api.CreateHttpClient();
        await client.SendOkAsync("hello", ChatCalls.NewUserId());

        Assert.Single(logs.Lines, line => line.StartsWith("Warning") && line.Contains("No bearer scheme is configured"));
    }

    private HttpClient Start(Dictionary<string, string?>? settings = null)
    {
        var api = new ApiFactory(_connectionString, _model, settings);
        _apis.Add(api);
        return api.CreateHttpClient();
    }

    private static async Task<JsonElement> UsageAsync(HttpClient client, long user)
    {
        using var response = await client.GetAsync($"/usage?user_id={user}");
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    private static async Task<int> ConversationCountAsync(HttpClient client, long user)
    {
        using var response = await client.GetAsync($"/conversations?user_id={user}&limit=100");
        return (await response.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetArrayLength();
    }
}
