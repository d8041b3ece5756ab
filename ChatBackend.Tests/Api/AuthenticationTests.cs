using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>
/// A bearer scheme configured as dotnet user-jwts writes it (a symmetric key): the real JwtBearer handler with real
/// tokens; 401 for every bad token, the user from its subject, 403 for another user's user_id, 404 for another user's
/// conversation on every endpoint, and users that never see each other's data.
/// </summary>
[Trait("Category", "Api")]
public sealed class AuthenticationTests(AuthenticationTests.Fixture api) : ApiTest(api), IClassFixture<AuthenticationTests.Fixture>
{
    public sealed class Fixture(DatabaseFixture database) : ApiFixture(database, "auth", Issuer.Settings(new()
    {
        // High enough not to bind: the limits have their own tests.
        ["RateLimits:SendsPerMinute"] = "10000",
        ["RateLimits:ConcurrentTurnsPerUser"] = "1000",
    }));

    private static readonly SymmetricTokens Issuer = new();

    // The class's tests share a database and run one after another: a test that stores nothing leaves this count as it found it.
    private const string AllConversations = "SELECT COUNT(*) FROM conversation_store";

    /// <summary>Every chat, conversation and API key endpoint, as a request without credentials.</summary>
    public static TheoryData<string, string> UserEndpoints => new()
    {
        { "POST", "/chat-message?message=hi" },
        { "POST", "/chat-message/stream?message=hi" },
        { "POST", "/chat-message/cancel?conversation_id=c&message_id=m" },
        { "GET", "/conversations/c/messages/m/stream" },
        { "GET", "/get-conversation-history/c" },
        { "GET", "/conversations" },
        { "GET", "/conversations/c" },
        { "PATCH", "/conversations/c?chat_name=x" },
        { "DELETE", "/conversations/c" },
        { "PUT", "/conversations/c/messages/m/feedback?rating=up" },
        { "DELETE", "/conversations/c/messages/m/feedback" },
        { "GET", "/usage" },
        { "POST", "/api-keys" },
        { "GET", "/api-keys" },
        { "DELETE", "/api-keys/1" },
    };

    [Theory]
    [MemberData(nameof(UserEndpoints))]
    public async Task EveryUserEndpointIsA401ProblemWithWwwAuthenticateWithoutAToken(string method, string path)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), TestContext.Current.CancellationToken);

        var problem = await response.ExpectAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("no bearer token", problem.Str("detail"));
        Assert.Equal(0, Model.CallCount);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/openapi/v1.json")]
    public async Task TheRootTheHealthChecksAndTheOpenApiDocumentStayOpen(string path)
    {
        using var response = await Client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDeclaresTheBearerSchemeOnTheUserEndpointsWith401And403AndSends429()
    {
        using var response = await Client.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        var document = await response.ExpectAsync(HttpStatusCode.OK);
        var paths = document.GetProperty("paths");
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal(("http", "bearer"), (scheme.Str("type"), scheme.Str("scheme")));
        Assert.True(paths.GetProperty("/chat-message").GetProperty("post").GetProperty("security")[0].TryGetProperty("Bearer", out _));
        Assert.False(paths.GetProperty("/").GetProperty("get").TryGetProperty("security", out _));

        var send = paths.GetProperty("/chat-message").GetProperty("post").GetProperty("responses");
        var list = paths.GetProperty("/conversations").GetProperty("get").GetProperty("responses");
        Assert.All(new[] { "401", "403", "429" }, status => Assert.True(send.TryGetProperty(status, out _), status));
        Assert.All(new[] { "401", "403" }, status => Assert.True(list.TryGetProperty(status, out _), status));
        Assert.False(paths.GetProperty("/").GetProperty("get").GetProperty("responses").TryGetProperty("401", out _));
    }

    [Fact]
    public async Task ExpiredWrongIssuerWrongAudienceAndBadSignatureTokensAre401sThatSayWhy()
    {
        var conversations = await CountAsync(AllConversations);
        var subject = Tokens.NewSubject();
        var cases = new (TokenRequest Token, string Reason)[]
        {
            (new(subject, ExpiresIn: TimeSpan.FromMinutes(-10)), "expired"),
            (new(subject, Issuer: "https://someone-else.example"), "issuer"),
            (new(subject, Audience: "https://another-api.example"), "audience"),
            (new(subject, WrongKey: true), "signature"),
        };

        foreach (var (token, reason) in cases)
        {
            using var client = CreateClient(Issuer.Create(token));
            using var response = await client.PostAsJsonAsync("/chat-message", new { message = "hi" }, TestContext.Current.CancellationToken);

            var problem = await response.ExpectAsync(HttpStatusCode.Unauthorized);
            var challenge = response.Headers.WwwAuthenticate.Single();
            Assert.Equal("Bearer", challenge.Scheme);
            Assert.Contains("invalid_token", challenge.Parameter);
            Assert.Contains(reason, problem.Str("detail"), StringComparison.OrdinalIgnoreCase);
        }
        Assert.Equal(0, Model.CallCount);
        Assert.Equal(conversations, await CountAsync(AllConversations));
    }

    [Fact]
    public async Task ATokenWithoutASubjectClaimIsA401()
    {
        using var client = CreateClient(Issuer.Create(new TokenRequest("someone", SubjectClaim: "name")));

        using var response = await client.PostAsJsonAsync("/chat-message", new { message = "hi" }, TestContext.Current.CancellationToken);

        var problem = await response.ExpectAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("'sub' claim", problem.Str("detail"));
    }

    [Fact]
    public async Task ATokensUserSendsWithoutAUserIdAndFindsItsConversationsInEveryForm()
    {
        using var client = CreateClient(Issuer.Create(Tokens.NewSubject()));

        using var json = await client.PostAsJsonAsync("/chat-message", new { message = "from json" }, TestContext.Current.CancellationToken);
        using var query = await client.PostAsync("/chat-message?message=from%20query", null, TestContext.Current.CancellationToken);
        var sent = await json.ExpectAsync(HttpStatusCode.OK);
        await query.ExpectAsync(HttpStatusCode.OK);
        var usage = await GetAsync(client, "/usage");
        var userId = usage.GetProperty("user_id").GetInt64();
        using var withOwnId = await client.GetAsync($"/conversations?user_id={userId}", TestContext.Current.CancellationToken);

        Assert.True(userId >= 1_000_000_000_000, $"Token users' ids start at 10^12, got {userId}.");
        Assert.Equal(2, (await withOwnId.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetArrayLength());
        var history = await GetAsync(client, $"/get-conversation-history/{sent.Str("conversation_id")}");
        Assert.Equal("from json", history.GetProperty("messages")[0].Str("message"));
        Assert.Equal(userId, await CountAsync("SELECT user_id FROM conversation_store WHERE conv_id = @p", sent.Str("conversation_id")));
    }

    [Fact]
    public async Task AUserIdOfAnotherUserThanTheTokensIsA403OnEveryEndpointThatTakesOne()
    {
        var conversations = await CountAsync(AllConversations);
        using var client = CreateClient(Issuer.Create(Tokens.NewSubject()));
        var other = ChatCalls.NewUserId();
        var requests = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Post, "/chat-message", new { message = "hi", user_id = other }),
            (HttpMethod.Post, $"/chat-message?message=hi&user_id={other}", null),
            (HttpMethod.Post, "/chat-message/stream", new { message = "hi", user_id = other }),
            (HttpMethod.Post, "/chat-message/cancel", new { conversation_id = "c", message_id = "m", user_id = other }),
            (HttpMethod.Get, $"/conversations/c/messages/m/stream?user_id={other}", null),
            (HttpMethod.Get, $"/get-conversation-history/c?user_id={other}", null),
            (HttpMethod.Get, $"/conversations?user_id={other}", null),
            (HttpMethod.Get, $"/conversations/c?user_id={other}", null),
            (HttpMethod.Patch, "/conversations/c", new { chat_name = "x", user_id = other }),
            (HttpMethod.Delete, $"/conversations/c?user_id={other}", null),
            (HttpMethod.Put, "/conversations/c/messages/m/feedback", new { rating = "up", user_id = other }),
            (HttpMethod.Delete, $"/conversations/c/messages/m/feedback?user_id={other}", null),
            (HttpMethod.Get, $"/usage?user_id={other}", null),
            (HttpMethod.Post, "/api-keys", new { name = "x", user_id = other }),
            (HttpMethod.Get, $"/api-keys?user_id={other}", null),
            (HttpMethod.Delete, $"/api-keys/1?user_id={other}", null),
        };

        foreach (var (method, path, body) in requests)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

            var problem = await response.ExpectAsync(HttpStatusCode.Forbidden);
            Assert.Equal("user_id", problem.Str("field"));
        }
        Assert.Equal(0, Model.CallCount);
        Assert.Equal(conversations, await CountAsync(AllConversations));
    }

    [Fact]
    public async Task AnotherUsersConversationIsA404OnEveryEndpointLikeAnUnknownOneAndIsLeftIntact()
    {
        using var owner = CreateClient(Issuer.Create(Tokens.NewSubject()));
        using var stranger = CreateClient(Issuer.Create(Tokens.NewSubject()));
        var messageId = ChatCalls.NewMessageId();
        using var sent = await owner.PostAsJsonAsync("/chat-message", new { message = "mine", message_id = messageId }, TestContext.Current.CancellationToken);
        var answer = await sent.ExpectAsync(HttpStatusCode.OK);
        var (conversation, reply) = (answer.Str("conversation_id"), answer.Str("reply_message_id"));

        var requests = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Post, "/chat-message", new { message = "into yours", conversation_id = conversation }),
            (HttpMethod.Post, "/chat-message/stream", new { message = "into yours", conversation_id = conversation }),
            (HttpMethod.Post, "/chat-message/cancel", new { conversation_id = conversation, message_id = messageId }),
            (HttpMethod.Get, $"/conversations/{conversation}/messages/{messageId}/stream", null),
            (HttpMethod.Get, $"/get-conversation-history/{conversation}", null),
            (HttpMethod.Get, $"/conversations/{conversation}", null),
            (HttpMethod.Patch, $"/conversations/{conversation}", new { chat_name = "taken" }),
            (HttpMethod.Delete, $"/conversations/{conversation}", null),
            (HttpMethod.Put, $"/conversations/{conversation}/messages/{reply}/feedback", new { rating = "down" }),
            (HttpMethod.Delete, $"/conversations/{conversation}/messages/{reply}/feedback", null),
        };
        foreach (var (method, path, body) in requests)
        {
            using var theirs = await stranger.SendAsync(Request(method, path, body), TestContext.Current.CancellationToken);
            using var unknown = await stranger.SendAsync(Request(method, path.Replace(conversation, "c-unknown"), body is null ? null : Retarget(body, conversation)), TestContext.Current.CancellationToken);

            var problem = await theirs.ExpectAsync(HttpStatusCode.NotFound);
            var unknownProblem = await unknown.ExpectAsync(HttpStatusCode.NotFound);
            Assert.Equal(unknownProblem.Str("title"), problem.Str("title"));
            Assert.Equal(unknownProblem.Str("detail"), problem.Str("detail"));
        }
        using var strangersList = await stranger.GetAsync("/conversations", TestContext.Current.CancellationToken);

        Assert.Equal(0, (await strangersList.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetArrayLength());
        var history = await GetAsync(owner, $"/get-conversation-history/{conversation}");
        Assert.Equal(2, history.GetProperty("messages").GetArrayLength());
        Assert.Equal("NEW CHAT", (await GetAsync(owner, $"/conversations/{conversation}")).Str("chat_name"));
        Assert.Equal(1, Model.CallCount);
    }

    [Fact]
    public async Task TwoUsersSendingInParallelNeverSeeEachOthersConversations()
    {
        var subjects = new[] { Tokens.NewSubject(), Tokens.NewSubject() };
        var clients = subjects.Select(subject => CreateClient(Issuer.Create(subject))).ToArray();

        var sends = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            var client = clients[i % 2];
            using var response = await client.PostAsJsonAsync("/chat-message", new { message = $"user {i % 2} message {i}" });
            return (User: i % 2, Answer: await response.ExpectAsync(HttpStatusCode.OK));
        }));

        for (var user = 0; user < 2; user++)
        {
            var list = await GetAsync(clients[user], "/conversations?limit=100");
            var own = sends.Where(s => s.User == user).Select(s => s.Answer.Str("conversation_id")).Order().ToArray();
            Assert.Equal(own, list.GetProperty("data").EnumerateArray().Select(c => c.Str("conversation_id")).Order().ToArray());
            foreach (var conversation in own)
            {
                Assert.StartsWith($"user {user} ", (await GetAsync(clients[user], $"/get-conversation-history/{conversation}"))
                    .GetProperty("messages")[0].Str("message"));
            }
        }
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task ANewUsersFirstRequestsAtOnceAreGivenOneUserId()
    {
        var subject = Tokens.NewSubject();
        var token = Issuer.Create(subject);

        var ids = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            using var client = CreateClient(token);
            return (await GetAsync(client, "/usage")).GetProperty("user_id").GetInt64();
        }));

        Assert.Single(ids.Distinct());
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM user_identity WHERE subject = @p", subject));
    }

    private HttpClient CreateClient(string token) =>
        new HttpClient { BaseAddress = Client.BaseAddress, Timeout = TimeSpan.FromSeconds(60) }.WithToken(token);

    private static async Task<JsonElement> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, object? body) =>
        new(method, path) { Content = body is null ? null : JsonContent.Create(body) };

    // The same body about an unknown conversation.
    private static Dictionary<string, object?> Retarget(object body, string conversation) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(body))!
            .ToDictionary(p => p.Key, p => (object?)(p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() == conversation
                ? "c-unknown" : p.Value));

    private async Task<long> CountAsync(string sql, string? parameter = null)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@p", parameter);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
