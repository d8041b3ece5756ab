using System.Net;
using System.Text;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>Each row of SPEC §3's error table, over HTTP, with problem details that name the field.</summary>
[Trait("Category", "Api")]
public sealed class ErrorTableTests(ErrorTableTests.Fixture api) : ApiTest(api), IClassFixture<ErrorTableTests.Fixture>
{
    public sealed class Fixture(DatabaseFixture database) : ApiFixture(database, "errors", new() { ["Chat:Timeout"] = "00:00:03", ["Chat:MaxMessageLength"] = "100" });

    [Fact]
    public async Task MalformedJsonIsA400NamingTheBody()
    {
        using var response = await Client.PostAsync("/chat-message", new StringContent("{\"message\": ", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("body", out _));
        Assert.Equal(0, Model.CallCount);
    }

    [Theory]
    [InlineData("{\"user_id\": 1}", "message")]
    [InlineData("{\"message\": \"   \", \"user_id\": 1}", "message")]
    [InlineData("{\"message\": \"hi\"}", "user_id")]
    [InlineData("{\"message\": \"hi\", \"user_id\": 0}", "user_id")]
    [InlineData("{\"message\": \"hi\", \"user_id\": \"abc\"}", "user_id")]
    [InlineData("{\"message\": \"hi\", \"user_id\": 1.5}", "user_id")]
    [InlineData("{\"message\": \"hi\", \"user_id\": true}", "user_id")]
    [InlineData("{\"message\": \"hi\", \"user_id\": 1, \"message_id\": \"has space\"}", "message_id")]
    [InlineData("{\"message\": \"hi\", \"user_id\": 1, \"message_id\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "message_id")]
    [InlineData("{\"message\": \"hi\", \"user_id\": 1, \"message_count\": \"many\"}", "message_count")]
    [InlineData("{\"message\": [\"hi\"], \"user_id\": 1}", "message")]
    public async Task InvalidFieldIsA400NamingThatField(string json, string field)
    {
        using var response = await Client.PostAsync("/chat-message", new StringContent(json, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"errors should name {field}: {errors}");
        Assert.Equal(0, Model.CallCount);
    }

    [Fact]
    public async Task TooLongMessageIsA400NamingTheLimit()
    {
        using var response = await Client.SendJsonAsync(new string('x', 101), ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("100", problem.GetProperty("errors").GetProperty("message")[0].GetString());
    }

    [Fact]
    public async Task EveryMissingFieldIsListedAtOnceForTheQueryStringForm()
    {
        using var response = await Client.PostAsync("/chat-message?message=&user_id=", content: null, TestContext.Current.CancellationToken);

        var errors = (await response.ExpectProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("message", out _));
        Assert.True(errors.TryGetProperty("user_id", out _));
    }

    [Fact]
    public async Task UnknownConversationIsA404()
    {
        using var response = await Client.SendJsonAsync("hi", ChatCalls.NewUserId(), ChatCalls.NewMessageId(), "nosuchid-0000");

        var problem = await response.ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("conversation_id", problem.Str("field"));
        using var history = await Client.GetAsync("/get-conversation-history/nosuchid-0000", TestContext.Current.CancellationToken);
        await history.ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task SameMessageIdWhileTheFirstIsBeingAnsweredIsA409()
    {
        var userId = ChatCalls.NewUserId();
        var conversationId = (await Client.SendOkAsync("first", userId)).Str("conversation_id");
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Model.Behaviour = async (messages, cancellationToken) =>
        {
            entered.TrySetResult();
            return await gate.Task.WaitAsync(cancellationToken);
        };

        var first = Client.SendJsonAsync("slow one", userId, "busy-1", conversationId);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        using var second = await Client.SendJsonAsync("slow one", userId, "busy-1", conversationId);
        var problem = await second.ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("busy-1", problem.Str("message_id"));

        gate.SetResult("finally");
        using var firstResponse = await first;
        Assert.Equal("finally", (await firstResponse.ExpectAsync(HttpStatusCode.OK)).Str("message"));
        Assert.Equal(2, Model.CallCount);
    }

    [Fact]
    public async Task SameMessageIdWithADifferentMessageIsA409AndStoresNothing()
    {
        var userId = ChatCalls.NewUserId();
        var conversationId = (await Client.SendOkAsync("first", userId, messageId: "dup-1")).Str("conversation_id");

        using var response = await Client.SendJsonAsync("something else", userId, "dup-1", conversationId);

        await response.ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(2, (await Client.HistoryAsync(conversationId)).GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task ModelFailureIsA502ThatKeepsTheMessageAndARetryCompletesTheTurnInPlace()
    {
        var userId = ChatCalls.NewUserId();
        Model.Behaviour = (_, _) => throw new HttpRequestException("provider exploded with secret sk-123");

        using var failed = await Client.SendJsonAsync("please answer", userId, "fail-1");
        var problem = await failed.ExpectProblemAsync(HttpStatusCode.BadGateway);
        Assert.DoesNotContain("sk-123", problem.GetRawText());
        Assert.DoesNotContain("exploded", problem.GetRawText());
        var conversationId = problem.Str("conversation_id");
        Assert.Equal("fail-1", problem.Str("message_id"));

        var stored = (await Client.HistoryAsync(conversationId)).GetProperty("messages").EnumerateArray().Single();
        Assert.Equal("Error", stored.Str("status"));
        Assert.Equal("please answer", stored.Str("message"));
        Assert.True(stored.GetProperty("elapsed_ms").ValueKind == JsonValueKind.Number);

        Model.Behaviour = null;
        using var retried = await Client.SendJsonAsync("please answer", userId, "fail-1", conversationId);
        Assert.Equal("echo: please answer", (await retried.ExpectAsync(HttpStatusCode.OK)).Str("message"));

        var messages = (await Client.HistoryAsync(conversationId)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, messages.Count);
        Assert.Equal([1, 2], messages.Select(m => m.Int("message_no")));
        Assert.All(messages, m => Assert.Equal("Success", m.Str("status")));
    }

    [Fact]
    public async Task EmptyModelReplyIsA502()
    {
        Model.Behaviour = (_, _) => Task.FromResult("   ");

        using var response = await Client.SendJsonAsync("say nothing", ChatCalls.NewUserId(), ChatCalls.NewMessageId());

        await response.ExpectProblemAsync(HttpStatusCode.BadGateway);
    }

    [Fact]
    public async Task ModelTimeoutIsA504AndTheMessageStaysStoredAsError()
    {
        Model.Behaviour = async (_, cancellationToken) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            return "too late";
        };

        using var response = await Client.SendJsonAsync("are you there", ChatCalls.NewUserId(), "slow-1");

        var problem = await response.ExpectProblemAsync(HttpStatusCode.GatewayTimeout);
        var stored = (await Client.HistoryAsync(problem.Str("conversation_id"))).GetProperty("messages")[0];
        Assert.Equal("Error", stored.Str("status"));
        Assert.InRange(stored.Int("elapsed_ms"), 2_900, 20_000);
    }

    [Fact]
    public async Task UnknownRouteIsAProblemDetails404()
    {
        using var response = await Client.GetAsync("/no-such-route", TestContext.Current.CancellationToken);

        await response.ExpectProblemAsync(HttpStatusCode.NotFound);
    }
}
