using System.Net;
using System.Text;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>
/// Chat:MaxRequestBytes (413), the request target (414) and headers (431) at Kestrel's limits, all as problem details
/// that store nothing, and CORS for Cors:AllowedOrigins.
/// </summary>
[Trait("Category", "Api")]
public sealed class RequestLimitsTests(RequestLimitsTests.Fixture api) : ApiTest(api), IClassFixture<RequestLimitsTests.Fixture>
{
    public sealed class Fixture(DatabaseFixture database) : ApiFixture(database, "limits", new()
    {
        ["Chat:MaxRequestBytes"] = "2048",
        ["Cors:AllowedOrigins:0"] = "https://chat.example",
    });

    [Fact]
    public async Task ABodyOverChatMaxRequestBytesIsA413ProblemAndStoresNothing()
    {
        var user = ChatCalls.NewUserId();
        var body = $"{{\"message\":\"{new string('x', 4_000)}\",\"user_id\":{user}}}";

        using var response = await Client.PostAsync("/chat-message", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        using var within = await Client.SendJsonAsync("short enough", user);

        var problem = await response.ExpectAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(413, problem.Int("status"));
        Assert.Contains("Chat:MaxRequestBytes", problem.Str("detail"));
        await within.ExpectAsync(HttpStatusCode.OK);
        using var list = await Client.GetAsync($"/conversations?user_id={user}", TestContext.Current.CancellationToken);
        Assert.Equal(1, (await list.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetArrayLength());
        Assert.Equal(1, Model.CallCount);
    }

    [Fact]
    public async Task AQueryStringOverKestrelsLimitIsA414ProblemAndStoresNothing()
    {
        var user = ChatCalls.NewUserId();

        using var response = await Client.SendQueryAsync(new string('q', 9_000), user, ChatCalls.NewMessageId());

        var problem = await response.ExpectAsync(HttpStatusCode.RequestUriTooLong);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Chat:MaxRequestTargetBytes", problem.Str("detail"));
        using var list = await Client.GetAsync($"/conversations?user_id={user}", TestContext.Current.CancellationToken);
        Assert.Equal(0, (await list.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetArrayLength());
        Assert.Equal(0, Model.CallCount);
    }

    [Fact]
    public async Task HeadersOverKestrelsLimitAreA431Problem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/chat-message?message=hi&user_id={ChatCalls.NewUserId()}");
        request.Headers.Add("X-Padding", new string('h', 40_000));

        using var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);

        var problem = await response.ExpectAsync(HttpStatusCode.RequestHeaderFieldsTooLarge);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Chat:MaxRequestHeadersBytes", problem.Str("detail"));
        Assert.Equal(0, Model.CallCount);
    }

    [Fact]
    public async Task APreflightFromAnAllowedOriginIsAnsweredAndOneFromAnyOtherIsNot()
    {
        using var allowed = await Client.SendAsync(Preflight("https://chat.example"), TestContext.Current.CancellationToken);
        using var refused = await Client.SendAsync(Preflight("https://elsewhere.example"), TestContext.Current.CancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("Origin", "https://chat.example");
        using var simple = await Client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal("https://chat.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", string.Join(",", allowed.Headers.GetValues("Access-Control-Allow-Methods")));
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal("https://chat.example", simple.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/chat-message");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");
        return request;
    }
}
