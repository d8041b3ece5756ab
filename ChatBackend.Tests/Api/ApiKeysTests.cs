using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>
/// API keys (Authorization: Bearer cbk_...), with and without a bearer scheme: made for the caller and shown once,
/// listed without the key, acting as their user on the native endpoints, revoked at once on another instance, never
/// revocable by another user, and a 401 that says only "not valid" for a malformed, unknown or revoked key.
/// </summary>
[Trait("Category", "Api")]
public sealed class ApiKeysTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{
    private static readonly SymmetricTokens Issuer = new();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>The class's API without a bearer scheme (requests name their user), or with one (JwtBearer).</summary>
    private HttpClient Api(bool bearer) => StartApi(bearer ? Issuer.Settings() : null);

    [Fact]
    public async Task AKeyIsShownOnceWhenMadeAndListedAfterwardsByItsPrefixWithoutTheKeyOrItsHash()
    {
        using var api = Api(bearer: false);
        var user = ChatCalls.NewUserId();

        using var created = await api.PostAsJsonAsync("/api-keys", new { name = "laptop 💻", user_id = user }, Cancellation);
        var answer = await created.ExpectAsync(HttpStatusCode.Created);
        using var listed = await api.GetAsync($"/api-keys?user_id={user}", Cancellation);
        var listText = await listed.Content.ReadAsStringAsync(Cancellation);

        var key = answer.Str("key");
        Assert.Matches("^cbk_[A-Za-z0-9]{43}$", key);
        Assert.Equal(key[..12], answer.Str("prefix"));
        Assert.Equal("laptop 💻", answer.Str("name"));
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        var item = Assert.Single(JsonDocument.Parse(listText).RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal(
            ["created_at", "id", "last_used_at", "name", "prefix"],
            item.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal((answer.GetProperty("id").GetInt64(), key[..12], "laptop 💻"), (item.GetProperty("id").GetInt64(), item.Str("prefix"), item.Str("name")));
        Assert.Equal(JsonValueKind.Null, item.GetProperty("last_used_at").ValueKind);
        Assert.DoesNotContain(key, listText);
        Assert.DoesNotContain(Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(key))), listText);
        Assert.Equal(1, await SqlAsync("SELECT COUNT(*) FROM api_key WHERE user_id = @user AND key_hash = @hash AND prefix = @prefix", user, key));
        using var othersList = await api.GetAsync($"/api-keys?user_id={ChatCalls.NewUserId()}", Cancellation);
        Assert.Equal(0, (await othersList.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task WithoutABearerSchemeAKeyActsAsTheUserItWasMadeForOnTheNativeEndpointsWithoutAUserId()
    {
        using var api = Api(bearer: false);
        var user = ChatCalls.NewUserId();
        using var client = WithBearer(api, await CreateKeyAsync(api, user));

        using var sent = await client.PostAsJsonAsync("/chat-message", new { message = "hello by key" }, Cancellation);
        var conversation = (await sent.ExpectAsync(HttpStatusCode.OK)).Str("conversation_id");
        var history = await client.HistoryAsync(conversation);
        using var list = await client.GetAsync("/conversations", Cancellation);
        using var usage = await client.GetAsync($"/usage?user_id={user}", Cancellation);
        using var otherUser = await client.PostAsJsonAsync("/chat-message", new { message = "as someone else", user_id = ChatCalls.NewUserId() }, Cancellation);
        using var othersConversation = await api.GetAsync($"/get-conversation-history/{conversation}?user_id={ChatCalls.NewUserId()}", Cancellation);

        Assert.Equal(["hello by key", "echo: hello by key"], history.GetProperty("messages").EnumerateArray().Select(m => m.Str("message")));
        Assert.Equal(conversation, (await list.ExpectAsync(HttpStatusCode.OK)).GetProperty("data")[0].Str("conversation_id"));
        Assert.Equal(user, (await usage.ExpectAsync(HttpStatusCode.OK)).GetProperty("user_id").GetInt64());
        Assert.Equal("user_id", (await otherUser.ExpectProblemAsync(HttpStatusCode.Forbidden)).Str("field"));
        await othersConversation.ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(user, await SqlAsync("SELECT user_id FROM conversation_store WHERE conv_id = @conv", user, conversation: conversation));
        Assert.Single(Fake.Requests);
    }

    [Fact]
    public async Task WithABearerSchemeATokensUserMakesKeysThatActAsThatUserAndAKeyMayMakeAnother()
    {
        using var api = Api(bearer: true);
        using var token = WithBearer(api, Issuer.Create(Tokens.NewSubject()));
        var tokenUser = await UsageUserAsync(token);

        using var created = await token.PostAsJsonAsync("/api-keys", new { name = "ci" }, Cancellation);
        using var byKey = WithBearer(api, (await created.ExpectAsync(HttpStatusCode.Created)).Str("key"));
        using var second = await byKey.PostAsync("/api-keys", content: null, Cancellation);
        var secondKey = (await second.ExpectAsync(HttpStatusCode.Created)).Str("key");
        using var sent = await byKey.PostAsJsonAsync("/chat-message", new { message = "sent with a key" }, Cancellation);
        var conversation = (await sent.ExpectAsync(HttpStatusCode.OK)).Str("conversation_id");
        using var bySecondKey = WithBearer(api, secondKey);
        using var list = await bySecondKey.GetAsync("/api-keys", Cancellation);
        using var otherUser = await byKey.GetAsync($"/api-keys?user_id={ChatCalls.NewUserId()}", Cancellation);

        Assert.Equal(tokenUser, await UsageUserAsync(byKey));
        Assert.Equal("sent with a key", (await token.HistoryAsync(conversation)).GetProperty("messages")[0].Str("message"));
        var keys = (await list.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["ci", null], keys.Select(k => k.GetProperty("name").GetString()));
        Assert.Equal(secondKey[..12], keys[1].Str("prefix"));
        await otherUser.ExpectProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ARevokedKeyIsRefusedAtOnceOnASecondInstance()
    {
        using var a = Api(bearer: false);
        using var b = StartOwnApi();
        var user = ChatCalls.NewUserId();
        using var created = await a.PostAsJsonAsync("/api-keys", new { user_id = user }, Cancellation);
        var answer = await created.ExpectAsync(HttpStatusCode.Created);
        using var onB = WithBearer(b, answer.Str("key"));
        Assert.Equal(user, await UsageUserAsync(onB));

        using var onA = WithBearer(a, answer.Str("key"));
        using var revoked = await onA.DeleteAsync($"/api-keys/{answer.GetProperty("id").GetInt64()}", Cancellation);
        await revoked.ExpectAsync(HttpStatusCode.NoContent);
        using var refused = await onB.GetAsync("/usage", Cancellation);
        using var again = await a.DeleteAsync($"/api-keys/{answer.GetProperty("id").GetInt64()}?user_id={user}", Cancellation);

        var problem = await refused.ExpectProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("not valid", problem.Str("detail"));
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        await again.ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(0, await SqlAsync("SELECT COUNT(*) FROM api_key WHERE user_id = @user", user));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnotherUsersKeyIdIsA404LikeAnUnknownOneAndTheKeyStaysValid(bool bearer)
    {
        using var api = Api(bearer);
        // With a scheme each user has a token; without one, each names a user_id.
        using var owner = bearer ? WithBearer(api, Issuer.Create(Tokens.NewSubject())) : NewClient(api);
        using var stranger = bearer ? WithBearer(api, Issuer.Create(Tokens.NewSubject())) : NewClient(api);
        var (ownerQuery, strangerQuery) = bearer ? ("", "") : ($"?user_id={ChatCalls.NewUserId()}", $"?user_id={ChatCalls.NewUserId()}");
        using var created = await owner.PostAsync($"/api-keys{ownerQuery}", content: null, Cancellation);
        var answer = await created.ExpectAsync(HttpStatusCode.Created);

        using var theirs = await stranger.DeleteAsync($"/api-keys/{answer.GetProperty("id").GetInt64()}{strangerQuery}", Cancellation);
        using var unknown = await stranger.DeleteAsync($"/api-keys/{long.MaxValue}{strangerQuery}", Cancellation);
        using var impossible = await stranger.DeleteAsync($"/api-keys/not-an-id{strangerQuery}", Cancellation);

        var problem = await theirs.ExpectProblemAsync(HttpStatusCode.NotFound);
        foreach (var other in new[] { unknown, impossible })
        {
            var otherProblem = await other.ExpectProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal((otherProblem.Str("title"), otherProblem.Str("detail")), (problem.Str("title"), problem.Str("detail")));
        }
        using var stillValid = WithBearer(api, answer.Str("key"));
        using var usage = await stillValid.GetAsync("/usage", Cancellation);
        await usage.ExpectAsync(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMalformedOrUnknownKeyIsA401ThatSaysOnlyThatTheKeyIsNotValidAndStoresNothing(bool bearer)
    {
        using var api = Api(bearer);
        var user = ChatCalls.NewUserId();
        var keys = new[]
        {
            "cbk_",
            "cbk_short",
            "cbk_" + new string('!', 43),
            "cbk_" + new string('A', 44),
            "cbk_" + new string('A', 43),
        };

        foreach (var key in keys)
        {
            using var client = WithBearer(api, key);
            using var send = await client.PostAsJsonAsync("/chat-message", new { message = "hi", user_id = user }, Cancellation);
            using var usage = await client.GetAsync($"/usage?user_id={user}", Cancellation);

            foreach (var response in new[] { send, usage })
            {
                var problem = await response.ExpectProblemAsync(HttpStatusCode.Unauthorized);
                Assert.Equal("The API key is not valid: it is malformed, unknown or revoked.", problem.Str("detail"));
                var challenge = response.Headers.WwwAuthenticate.Single();
                Assert.Equal("Bearer", challenge.Scheme);
                Assert.Contains("invalid_token", challenge.Parameter);
            }
        }
        Assert.Empty(Fake.Requests);
        Assert.Equal(0, await SqlAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
    }

    [Fact]
    public async Task WithABearerSchemeAKeyIsMadeOnlyWithATokenOrAKeyAndAJwtStillGetsItsOwnReasons()
    {
        using var api = Api(bearer: true);
        var keys = await SqlAsync("SELECT COUNT(*) FROM api_key", 0);

        using var anonymous = await api.PostAsJsonAsync("/api-keys", new { user_id = ChatCalls.NewUserId() }, Cancellation);
        using var expiredToken = WithBearer(api, Issuer.Create(new TokenRequest(Tokens.NewSubject(), ExpiresIn: TimeSpan.FromMinutes(-10))));
        using var expired = await expiredToken.PostAsync("/api-keys", content: null, Cancellation);

        Assert.Contains("no bearer token", (await anonymous.ExpectProblemAsync(HttpStatusCode.Unauthorized)).Str("detail"));
        Assert.Contains("expired", (await expired.ExpectProblemAsync(HttpStatusCode.Unauthorized)).Str("detail"));
        Assert.Equal(keys, await SqlAsync("SELECT COUNT(*) FROM api_key", 0));
    }

    [Fact]
    public async Task WithoutABearerSchemeAKeyIsForTheNamedUserIdAndAKeyCannotMakeOneForAnotherUser()
    {
        using var api = Api(bearer: false);
        var user = ChatCalls.NewUserId();

        using var noUser = await api.PostAsJsonAsync("/api-keys", new { name = "x" }, Cancellation);
        using var longName = await api.PostAsJsonAsync("/api-keys", new { name = new string('é', 101), user_id = user }, Cancellation);
        using var byKey = WithBearer(api, await CreateKeyAsync(api, user));
        using var forOther = await byKey.PostAsJsonAsync("/api-keys", new { user_id = ChatCalls.NewUserId() }, Cancellation);
        using var forSelf = await byKey.PostAsync($"/api-keys?user_id={user}", content: null, Cancellation);

        Assert.True((await noUser.ExpectProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("user_id", out _));
        Assert.True((await longName.ExpectProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("name", out _));
        Assert.Equal("user_id", (await forOther.ExpectProblemAsync(HttpStatusCode.Forbidden)).Str("field"));
        await forSelf.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(2, await SqlAsync("SELECT COUNT(*) FROM api_key WHERE user_id = @user", user));
    }

    [Fact]
    public async Task LastUsedAtIsWrittenAtTheFirstUseAndThenAtMostAboutOnceAMinute()
    {
        using var api = Api(bearer: false);
        var user = ChatCalls.NewUserId();
        using var client = WithBearer(api, await CreateKeyAsync(api, user));

        await UsageUserAsync(client);
        var first = await LastUsedAsync(api, user);
        await UsageUserAsync(client);
        var second = await LastUsedAsync(api, user);
        await SqlAsync("UPDATE api_key SET last_used_at = last_used_at - INTERVAL 2 MINUTE WHERE user_id = @user", user);
        await UsageUserAsync(client);
        var third = await LastUsedAsync(api, user);

        Assert.NotNull(first);
        Assert.Equal(first, second);
        Assert.True(third >= first, $"After a stale use, last_used_at {third:O} should be at least {first:O}.");
    }

    [Fact]
    public async Task AUserMayHoldAHundredKeysAndTheNextIsA409()
    {
        using var api = Api(bearer: false);
        var user = ChatCalls.NewUserId();
        for (var i = 0; i < 100; i++)
        {
            await CreateKeyAsync(api, user);
        }

        using var refused = await api.PostAsJsonAsync("/api-keys", new { user_id = user }, Cancellation);

        Assert.Equal("Too many API keys", (await refused.ExpectProblemAsync(HttpStatusCode.Conflict)).Str("title"));
        Assert.Equal(100, await SqlAsync("SELECT COUNT(*) FROM api_key WHERE user_id = @user", user));
    }

    /// <summary>A client of the same API that sends this token or API key with every request.</summary>
    private static HttpClient WithBearer(HttpClient api, string credential) => NewClient(api).WithToken(credential);

    private static HttpClient NewClient(HttpClient api) => new() { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    private static async Task<string> CreateKeyAsync(HttpClient api, long user)
    {
        using var created = await api.PostAsJsonAsync("/api-keys", new { user_id = user }, Cancellation);
        return (await created.ExpectAsync(HttpStatusCode.Created)).Str("key");
    }

    private static async Task<long> UsageUserAsync(HttpClient client)
    {
        using var usage = await client.GetAsync("/usage", Cancellation);
        return (await usage.ExpectAsync(HttpStatusCode.OK)).GetProperty("user_id").GetInt64();
    }

    private static async Task<DateTime?> LastUsedAsync(HttpClient api, long user)
    {
        using var list = await api.GetAsync($"/api-keys?user_id={user}", Cancellation);
        var item = (await list.ExpectAsync(HttpStatusCode.OK)).GetProperty("data")[0].GetProperty("last_used_at");
        return item.ValueKind == JsonValueKind.Null ? null : item.GetDateTime();
    }

    // Runs sql on the class's database and returns its one number (0 for none), with @user, @hash and @prefix (of the key) and @conv.
    private async Task<long> SqlAsync(string sql, long user, string? key = null, string? conversation = null)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@user", user);
        command.Parameters.AddWithValue("@hash", key is null ? null : SHA256.HashData(Encoding.ASCII.GetBytes(key)));
        command.Parameters.AddWithValue("@prefix", key?[..12]);
        command.Parameters.AddWithValue("@conv", conversation);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Cancellation) ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }
}
