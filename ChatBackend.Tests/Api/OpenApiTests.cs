using System.Net;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

[Trait("Category", "Api")]
public sealed class OpenApiTests(DatabaseFixture database)
{
    [Fact]
    public async Task TheDocumentDescribesEveryEndpointWithItsErrorsAndTheQueryStringForm()
    {
        await using var api = new ApiFactory(await database.CreateMigratedDatabaseAsync("openapi"));
        using var client = api.CreateHttpClient();

        using var response = await client.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        var document = await response.ExpectAsync(HttpStatusCode.OK);
        var paths = document.GetProperty("paths");
        Assert.False(document.TryGetProperty("components", out var components) && components.TryGetProperty("securitySchemes", out _),
            "Without a bearer scheme the document declares none.");

        var send = paths.GetProperty("/chat-message").GetProperty("post");
        Assert.Equal(
            ["200", "400", "401", "403", "404", "409", "422", "429", "502", "503", "504"],
            send.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        var content = send.GetProperty("requestBody").GetProperty("content");
        Assert.True(content.TryGetProperty("application/json", out _));
        Assert.True(content.TryGetProperty("application/x-www-form-urlencoded", out _));
        Assert.Equal(
            ["conversation_id", "message", "message_count", "message_id", "model", "user_id"],
            send.GetProperty("parameters").EnumerateArray().Where(p => p.Str("in") == "query").Select(p => p.Str("name")).Order());
        Assert.Equal(
            ["Idempotency-Key"],
            send.GetProperty("parameters").EnumerateArray().Where(p => p.Str("in") == "header").Select(p => p.Str("name")));

        var stream = paths.GetProperty("/chat-message/stream").GetProperty("post");
        Assert.True(stream.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
        Assert.Contains("event: start", stream.Str("description"));
        Assert.Contains("event: delta", stream.Str("description"));
        Assert.Contains("event: done", stream.Str("description"));
        Assert.Equal(8, stream.GetProperty("parameters").GetArrayLength());
        Assert.Contains("Last-Event-ID", stream.GetProperty("parameters").EnumerateArray().Select(p => p.Str("name")));
        var resume = paths.GetProperty("/conversations/{conversation_id}/messages/{message_id}/stream").GetProperty("get");
        Assert.Equal(["200", "400", "401", "403", "404", "503"], resume.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        Assert.True(resume.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
        Assert.Equal(
            ["Last-Event-ID", "conversation_id", "last_event_id", "message_id", "user_id"],
            resume.GetProperty("parameters").EnumerateArray().Select(p => p.Str("name")).Order(StringComparer.Ordinal));
        var cancel = paths.GetProperty("/chat-message/cancel").GetProperty("post");
        Assert.Equal(
            ["conversation_id", "message_id", "user_id"],
            cancel.GetProperty("parameters").EnumerateArray().Select(p => p.Str("name")).Order());

        var conversations = paths.GetProperty("/conversations").GetProperty("get");
        Assert.Equal(["200", "400", "401", "403", "503"], conversations.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        var conversation = paths.GetProperty("/conversations/{conversation_id}");
        Assert.Equal(["200", "400", "401", "403", "404", "503"], conversation.GetProperty("get").GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        Assert.Equal(["200", "400", "401", "403", "404", "503"], conversation.GetProperty("patch").GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        Assert.Equal(["204", "400", "401", "403", "404", "503"], conversation.GetProperty("delete").GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());

        var feedback = paths.GetProperty("/conversations/{conversation_id}/messages/{message_id}/feedback");
        Assert.Equal(["200", "400", "401", "403", "404", "503"], feedback.GetProperty("put").GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        Assert.Equal(["204", "400", "401", "403", "404", "503"], feedback.GetProperty("delete").GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        Assert.Contains("q", conversations.GetProperty("parameters").EnumerateArray().Select(p => p.Str("name")));

        var history = paths.GetProperty("/get-conversation-history/{conversation_id}").GetProperty("get");
        Assert.Equal(["200", "400", "401", "403", "404", "503"], history.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        var usage = paths.GetProperty("/usage").GetProperty("get");
        Assert.Equal(["200", "400", "401", "403", "503"], usage.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        var keys = paths.GetProperty("/api-keys");
        var createKey = keys.GetProperty("post");
        Assert.Equal(["201", "400", "401", "403", "409", "503"], createKey.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        Assert.Equal("#/components/schemas/CreatedApiKey", createKey.GetProperty("responses").GetProperty("201").GetProperty("content")
            .GetProperty("application/json").GetProperty("schema").Str("$ref"));
        Assert.True(createKey.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.Equal(["200", "400", "401", "403", "503"], keys.GetProperty("get").GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        var revoke = paths.GetProperty("/api-keys/{id}").GetProperty("delete");
        Assert.Equal(["204", "400", "401", "403", "404", "503"], revoke.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        var item = document.GetProperty("components").GetProperty("schemas").GetProperty("ApiKeyItem").GetProperty("properties");
        Assert.Equal(["created_at", "id", "last_used_at", "name", "prefix"], item.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        // The Responses API is in the same document.
        var create = paths.GetProperty("/v1/responses").GetProperty("post");
        Assert.Equal(["application/json", "text/event-stream"],
            create.GetProperty("responses").GetProperty("200").GetProperty("content").EnumerateObject().Select(c => c.Name).Order());
        Assert.Equal(["200", "400", "401", "403", "404", "409", "429", "502", "503", "504"], create.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order());
        foreach (var path in new[] { "/v1/responses/{response_id}", "/v1/responses/{response_id}/cancel", "/v1/responses/{response_id}/input_items", "/v1/models" })
        {
            Assert.True(paths.TryGetProperty(path, out _), path);
        }
        Assert.True(paths.TryGetProperty("/", out _));
        foreach (var probe in new[] { "/health", "/alive" })
        {
            var responses = paths.GetProperty(probe).GetProperty("get").GetProperty("responses");
            Assert.Equal(["200", "503"], responses.EnumerateObject().Select(r => r.Name).Order());
        }
    }

    [Fact]
    public async Task TheInteractivePageIsServedInDevelopment()
    {
        await using var api = new ApiFactory(await database.CreateMigratedDatabaseAsync("swagger"));
        using var client = api.CreateHttpClient();

        using var response = await client.GetAsync("/swagger/index.html", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

}
