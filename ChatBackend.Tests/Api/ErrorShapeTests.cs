using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>
/// Every error of every endpoint is problem details whatever the request's Accept header says (an EventSource sends
/// text/event-stream), and an id that no row can have (not ASCII) is a 404 or the field's 400, never a 500 from SQL.
/// </summary>
[Trait("Category", "Api")]
public sealed class ErrorShapeTests(ErrorShapeTests.Fixture api) : ApiTest(api), IClassFixture<ErrorShapeTests.Fixture>
{
    public sealed class Fixture(DatabaseFixture database) : ApiFixture(database, "errorshape", Issuer.Settings(new()
    {
        ["RateLimits:SendsPerMinute"] = "2",
        ["RateLimits:ConcurrentTurnsPerUser"] = "1000",
        ["Chat:MaxRequestBytes"] = "2048",
    }));

    private static readonly SymmetricTokens Issuer = new();

    public static TheoryData<string> Accepts => new() { "text/event-stream", "text/html", "text/plain" };

    /// <summary>Ids no conversation or message can have: a Latin letter, an emoji, a right-to-left override.</summary>
    public static TheoryData<string> ImpossibleIds => new() { "ñ", "conv-😀", "\u202Eabc" };

    [Theory]
    [MemberData(nameof(Accepts))]
    public async Task A401OnTheStreamingEndpointIsProblemDetailsWhateverTheAcceptHeader(string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream?message=hi");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));

        using var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);

        var problem = await response.ExpectAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no bearer token", problem.Str("detail"));
    }

    [Fact]
    public async Task A403A404A413A414AndA429AreProblemDetailsForAnEventSource()
    {
        var user = $"u-{Guid.NewGuid():n}";
        var token = Issuer.Create(user);
        async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return await Client.SendAsync(request);
        }

        using var forbidden = await SendAsync(HttpMethod.Post, "/chat-message/stream?message=hi&user_id=999999999999");
        using var notFound = await SendAsync(HttpMethod.Post, "/chat-message/stream?message=hi&conversation_id=nosuchconv");
        using var tooLarge = await SendAsync(HttpMethod.Post, "/chat-message/stream",
            new StringContent($"{{\"message\":\"{new string('x', 4_000)}\"}}", Encoding.UTF8, "application/json"));
        using var tooLong = await SendAsync(HttpMethod.Post, $"/chat-message/stream?message={new string('q', 9_000)}");
        using var first = await SendAsync(HttpMethod.Post, "/chat-message?message=one");
        using var second = await SendAsync(HttpMethod.Post, "/chat-message?message=two");
        using var limited = await SendAsync(HttpMethod.Post, "/chat-message/stream?message=three");

        foreach (var (response, status) in new[]
                 {
                     (forbidden, HttpStatusCode.Forbidden), (notFound, HttpStatusCode.NotFound),
                     (tooLarge, HttpStatusCode.RequestEntityTooLarge), (tooLong, HttpStatusCode.RequestUriTooLong),
                     (limited, HttpStatusCode.TooManyRequests),
                 })
        {
            var problem = await response.ExpectAsync(status);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal((int)status, problem.Int("status"));
        }
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Theory]
    [MemberData(nameof(ImpossibleIds))]
    public async Task AnIdThatCannotExistIsA404OrA400OnEveryEndpointThatTakesOne(string id)
    {
        var user = $"u-{Guid.NewGuid():n}";
        var token = Issuer.Create(user);
        var answered = await SendWithTokenAsync(token, "/chat-message?message=hello");
        var conversationId = answered.Str("conversation_id");
        var messageId = answered.Str("message_id");
        var escaped = Uri.EscapeDataString(id);
        var requests = new (HttpMethod Method, string Path)[]
        {
            (HttpMethod.Post, $"/chat-message?message=hi&conversation_id={escaped}"),
            (HttpMethod.Post, $"/chat-message?message=hi&conversation_id={conversationId}&message_id={escaped}"),
            (HttpMethod.Post, $"/chat-message/stream?message=hi&conversation_id={escaped}"),
            (HttpMethod.Post, $"/chat-message/cancel?conversation_id={escaped}&message_id={messageId}"),
            (HttpMethod.Post, $"/chat-message/cancel?conversation_id={conversationId}&message_id={escaped}"),
            (HttpMethod.Get, $"/conversations/{escaped}/messages/{messageId}/stream"),
            (HttpMethod.Get, $"/conversations/{conversationId}/messages/{escaped}/stream"),
            (HttpMethod.Get, $"/get-conversation-history/{escaped}"),
            (HttpMethod.Get, $"/conversations/{escaped}"),
            (HttpMethod.Patch, $"/conversations/{escaped}?chat_name=x"),
            (HttpMethod.Delete, $"/conversations/{escaped}"),
            (HttpMethod.Put, $"/conversations/{escaped}/messages/{messageId}/feedback?rating=up"),
            (HttpMethod.Put, $"/conversations/{conversationId}/messages/{escaped}/feedback?rating=up"),
            (HttpMethod.Delete, $"/conversations/{conversationId}/messages/{escaped}/feedback"),
            (HttpMethod.Get, $"/v1/conversations/{escaped}"),
            (HttpMethod.Delete, $"/v1/conversations/{escaped}"),
            (HttpMethod.Get, $"/v1/conversations/{escaped}/items"),
            (HttpMethod.Get, $"/v1/conversations/{conversationId}/items/{escaped}"),
            (HttpMethod.Delete, $"/v1/conversations/{conversationId}/items/{escaped}"),
            (HttpMethod.Delete, $"/v1/conversations/{escaped}/items/{messageId}"),
            (HttpMethod.Get, $"/v1/responses/{escaped}"),
            (HttpMethod.Delete, $"/v1/responses/{escaped}"),
            (HttpMethod.Post, $"/v1/responses/{escaped}/cancel"),
            (HttpMethod.Get, $"/v1/responses/{escaped}/input_items"),
        };

        foreach (var (method, path) in requests)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest,
                $"{method} {path}: {(int)response.StatusCode} {body}");
            // /v1 answers in OpenAI's error shape, the native endpoints in problem details.
            Assert.Equal(path.StartsWith("/v1/", StringComparison.Ordinal) ? "application/json" : "application/problem+json",
                response.Content.Headers.ContentType?.MediaType);
        }
        // Nothing was stored beside the first turn, and the conversation is whole.
        using var history = new HttpRequestMessage(HttpMethod.Get, $"/get-conversation-history/{conversationId}");
        history.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var read = await Client.SendAsync(history, TestContext.Current.CancellationToken);
        Assert.Equal(2, (await read.ExpectAsync(HttpStatusCode.OK)).Int("message_count"));
    }

    private async Task<System.Text.Json.JsonElement> SendWithTokenAsync(string token, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Client.SendAsync(request);
        return await response.ExpectAsync(HttpStatusCode.OK);
    }
}
