using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.ApiService.Apis;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using OpenAI.Responses;

namespace ChatBackend.Tests.Api;

/// <summary>
/// The OpenAI Responses API as its clients use it: the official OpenAI .NET SDK's ResponsesClient and
/// Microsoft.Extensions.AI's IChatClient over it, against the API on loopback with real bearer tokens, the model behind
/// it the fake OpenAI-compatible server. A response is a turn of a native conversation, read through both surfaces.
/// </summary>
[Trait("Category", "Api")]
public sealed class ResponsesApiTests(ResponsesApiTests.Fixture fixture) : FakeModelTest(fixture), IClassFixture<ResponsesApiTests.Fixture>
{
    public sealed class Fixture(DatabaseFixture database) : FakeModelFixture(database, "responses");

    private static readonly SymmetricTokens Issuer = new();

    private static readonly Dictionary<string, string?> Settings = Issuer.Settings(new()
    {
        ["Chat:Models:0"] = "gpt-4o-mini",
        ["Chat:Models:1"] = "gpt-4.1-mini",
        ["RateLimits:SendsPerMinute"] = "10000",
        ["RateLimits:ConcurrentTurnsPerUser"] = "1000",
    });

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    // A client of the given API as a user of its own (a token of a new subject), as the SDK is made for any server.
    private static (ResponsesClient Sdk, HttpClient Http) ClientsOf(HttpClient api, string? subject = null)
    {
        var token = Issuer.Create(subject ?? $"user-{Guid.NewGuid():n}");
        var sdk = new ResponsesClient(new ApiKeyCredential(token), new ResponsesClientOptions { Endpoint = new Uri(api.BaseAddress!, "/v1") });
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (sdk, http);
    }

    private (ResponsesClient Sdk, HttpClient Http) NewUser() => ClientsOf(StartApi(Settings));

    [Fact]
    public async Task AResponseCreatedWithTheSdkIsAnsweredStoredAndReadBackAsItWasAnswered()
    {
        var (sdk, http) = NewUser();
        Fake.Enqueue(FakeReply.Say("Hello ", "there"));

        var ask = Ask(ResponseItem.CreateUserMessageItem("Hi!"));
        ask.Metadata["topic"] = "greeting";
        ResponseResult created = await sdk.CreateResponseAsync(ask, Cancellation);

        Assert.Equal(ResponseStatus.Completed, created.Status);
        Assert.Equal("Hello there", created.GetOutputText());
        Assert.StartsWith("resp_", created.Id, StringComparison.Ordinal);
        Assert.Equal("greeting", created.Metadata["topic"]);
        Assert.Equal(FakeOpenAIServer.PromptTokens, created.Usage.InputTokenCount);
        Assert.Equal(FakeOpenAIServer.CompletionTokens, created.Usage.OutputTokenCount);
        ResponseResult read = await sdk.GetResponseAsync(created.Id, Cancellation);
        Assert.Equal(Json(created), Json(read));
        Assert.Equal("Hi!", Fake.Requests[^1].Messages[^1].Content);
    }

    [Fact]
    public async Task AStreamedResponseSendsTheDocumentedEventsInOrderAndEndsWithTheObjectGetReturns()
    {
        var (sdk, _) = NewUser();
        Fake.Enqueue(FakeReply.Say("One, ", "two, ", "three"));

        var ask = Ask(ResponseItem.CreateUserMessageItem("Count to three"));
        ask.StreamingEnabled = true;
        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in sdk.CreateResponseStreamingAsync(ask, Cancellation))
        {
            updates.Add(update);
        }

        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
             "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
             "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"],
            updates.Select(update => update.EventName()));
        var numbers = updates.Select(update => update.SequenceNumber).ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
        Assert.Equal("One, two, three", string.Concat(updates.OfType<StreamingResponseOutputTextDeltaUpdate>().Select(delta => delta.Delta)));
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
        Assert.Equal(Json(completed), Json((ResponseResult)await sdk.GetResponseAsync(completed.Id, Cancellation)));
    }

    [Fact]
    public async Task APreviousResponseIdChainGivesTheModelTheEarlierTurnsAndThisResponsesInstructions()
    {
        var (sdk, _) = NewUser();
        ResponseResult first = await sdk.CreateResponseAsync("gpt-4o-mini", "My name is Ada.", previousResponseId: null, Cancellation);
        var ask = Ask(ResponseItem.CreateUserMessageItem("What is my name?"));
        (ask.PreviousResponseId, ask.Instructions, ask.Model) = (first.Id, "Answer in French.", "gpt-4.1-mini");
        ResponseResult second = await sdk.CreateResponseAsync(ask, Cancellation);

        Assert.Equal(ResponseStatus.Completed, second.Status);
        Assert.Equal(first.Id, second.PreviousResponseId);
        var request = Fake.Requests[^1];
        Assert.Equal("gpt-4.1-mini", request.Model);
        Assert.Equal(
            [("system", "Answer in French."), ("user", "My name is Ada."), ("assistant", "echo: My name is Ada."), ("user", "What is my name?")],
            request.Messages.Skip(1));
    }

    [Fact]
    public async Task AResponseContinuedFromOneThatIsNotTheNewestIsABranchWhoseContextIsThePathToIt()
    {
        var (sdk, http) = NewUser();
        ResponseResult first = await sdk.CreateResponseAsync("gpt-4o-mini", "one", previousResponseId: null, Cancellation);
        ResponseResult second = await sdk.CreateResponseAsync("gpt-4o-mini", "two", first.Id, Cancellation);

        ResponseResult branch = await sdk.CreateResponseAsync("gpt-4o-mini", "three", first.Id, Cancellation);

        Assert.Equal(ResponseStatus.Completed, branch.Status);
        Assert.Equal(first.Id, branch.PreviousResponseId);
        Assert.Equal([("user", "one"), ("assistant", "echo: one"), ("user", "three")], Fake.Requests[^1].Messages.Skip(1));
        // The older branch keeps its own context, and becomes the newest when it goes on.
        await sdk.CreateResponseAsync("gpt-4o-mini", "four", second.Id, Cancellation);
        Assert.Equal(
            [("user", "one"), ("assistant", "echo: one"), ("user", "two"), ("assistant", "echo: two"), ("user", "four")],
            Fake.Requests[^1].Messages.Skip(1));
        var conversations = await (await http.GetAsync("/conversations", Cancellation)).ExpectAsync(HttpStatusCode.OK);
        var history = await (await http.GetAsync(
            $"/get-conversation-history/{conversations.GetProperty("data")[0].Str("conversation_id")}", Cancellation)).ExpectAsync(HttpStatusCode.OK);
        var messages = history.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["one", "echo: one", "two", "echo: two", "four", "echo: four"], messages.Select(m => m.Str("message")));
        Assert.Equal([second.Id, branch.Id], messages[2].GetProperty("siblings").EnumerateArray().Select(id => id.GetString()));
    }

    [Fact]
    public async Task AResponsesConversationIsANativeConversationWithTheSameId()
    {
        var (sdk, http) = NewUser();
        ResponseResult first = await sdk.CreateResponseAsync("gpt-4o-mini", "Remember 42.", previousResponseId: null, Cancellation);
        var conversations = await (await http.GetAsync("/conversations", Cancellation)).ExpectAsync(HttpStatusCode.OK);
        var conversationId = conversations.GetProperty("data")[0].Str("conversation_id");

        // A native send into it, then a response that continues from the native turn through `conversation`.
        using (var native = await http.PostAsJsonAsync("/chat-message", new { message = "And 43.", conversation_id = conversationId }, Cancellation))
        {
            await native.ExpectAsync(HttpStatusCode.OK);
        }
        using var next = await http.PostAsJsonAsync("/v1/responses", new { input = "Which numbers?", conversation = conversationId }, Cancellation);
        var body = await next.ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(conversationId, body.GetProperty("conversation").Str("id"));
        var history = await http.HistoryAsync(conversationId);
        Assert.Equal(
            ["Remember 42.", "echo: Remember 42.", "And 43.", "echo: And 43.", "Which numbers?", "echo: Which numbers?"],
            history.GetProperty("messages").EnumerateArray().Select(message => message.Str("message")));
        Assert.Equal(first.Id, history.GetProperty("messages")[0].Str("message_id"));
    }

    [Fact]
    public async Task ABackgroundResponseIsResumedFromStartingAfterAndCancelledOnASecondInstance()
    {
        var token = Issuer.Create($"user-{Guid.NewGuid():n}");
        var hold = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["Once ", "upon ", "a time"], HoldAfterFirstPiece: hold.Task));
        var (sdkA, httpA) = ClientsOfToken(StartOwnApi(Settings), token);
        var (sdkB, httpB) = ClientsOfToken(StartOwnApi(Settings), token);

        var ask = Ask(ResponseItem.CreateUserMessageItem("A story"));
        ask.BackgroundModeEnabled = true;
        ResponseResult queued = await sdkA.CreateResponseAsync(ask, Cancellation);
        Assert.Equal(ResponseStatus.Queued, queued.Status);

        // B follows it from after its first delta (number 3 + 5 characters): it gets the rest only.
        var resumed = new List<StreamingResponseUpdate>();
        await using var stream = sdkB.GetResponseStreamingAsync(new GetResponseOptions(queued.Id) { StartingAfter = 8, StreamingEnabled = true }, Cancellation)
            .GetAsyncEnumerator(Cancellation);
        await Eventually.WaitForAsync(async () =>
        {
            ResponseResult running = await sdkB.GetResponseAsync(queued.Id, Cancellation);
            return running.GetOutputText() == "Once ";
        }, "the first piece, written by A, read on B");
        ResponseResult cancelled = await sdkB.CancelResponseAsync(queued.Id, Cancellation);
        hold.SetResult();
        while (await stream.MoveNextAsync())
        {
            resumed.Add(stream.Current);
        }

        Assert.Equal(ResponseStatus.Cancelled, cancelled.Status);
        Assert.Equal("Once ", cancelled.GetOutputText());
        Assert.DoesNotContain(resumed, update => update is StreamingResponseOutputTextDeltaUpdate { Delta: "Once " });
        Assert.All(resumed, update => Assert.True(update.SequenceNumber > 8));
        Assert.Equal("response.incomplete", resumed[^1].EventName());
        Assert.Equal(ResponseStatus.Cancelled, ((ResponseResult)await sdkA.GetResponseAsync(queued.Id, Cancellation)).Status);
        httpA.Dispose();
        httpB.Dispose();
    }

    [Fact]
    public async Task AJsonSchemaFormatReachesTheModelAsItsResponseFormat()
    {
        var (_, http) = NewUser();
        var schema = new { type = "object", properties = new { answer = new { type = "string" } }, required = new[] { "answer" }, additionalProperties = false };

        using var response = await http.PostAsJsonAsync("/v1/responses", new
        {
            input = "Answer as JSON.",
            text = new { format = new { type = "json_schema", name = "answer", schema, strict = true } },
        }, Cancellation);

        var body = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("json_schema", body.GetProperty("text").GetProperty("format").Str("type"));
        var format = Fake.Requests[^1].Body["response_format"]!;
        Assert.Equal("json_schema", format["type"]!.GetValue<string>());
        Assert.Equal("answer", format["json_schema"]!["name"]!.GetValue<string>());
        Assert.Equal("string", format["json_schema"]!["schema"]!["properties"]!["answer"]!["type"]!.GetValue<string>());
        Assert.True(format["json_schema"]!["strict"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AResponseNotToBeStoredLeavesNoRowOnceItIsAnswered()
    {
        var (_, http) = NewUser();

        using var response = await http.PostAsJsonAsync("/v1/responses", new { input = "Forget me.", store = false }, Cancellation);

        var body = await response.ExpectAsync(HttpStatusCode.OK);
        var id = body.Str("id");
        Assert.False(body.GetProperty("store").GetBoolean());
        await Eventually.WaitForAsync(async () =>
            await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", id) == 0, "the response's rows gone");
        using var read = await http.GetAsync($"/v1/responses/{id}", Cancellation);
        await ExpectOpenAIErrorAsync(read, HttpStatusCode.NotFound);
        var conversations = await (await http.GetAsync("/conversations", Cancellation)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, conversations.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task AResponseNotToBeStoredInAConversationMadeBeforeItLeavesThatConversationEvenEmpty()
    {
        var (_, http) = NewUser();
        var conversationId = (await (await http.PostAsJsonAsync("/v1/conversations", new { metadata = new { topic = "kept" } }, Cancellation))
            .ExpectAsync(HttpStatusCode.OK)).Str("id");

        using var response = await http.PostAsJsonAsync("/v1/responses", new { input = "Forget me.", store = false, conversation = conversationId }, Cancellation);

        var id = (await response.ExpectAsync(HttpStatusCode.OK)).Str("id");
        await Eventually.WaitForAsync(async () =>
            await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", id) == 0, "the response's rows gone");
        using var read = await http.GetAsync($"/v1/conversations/{conversationId}", Cancellation);
        Assert.Equal("kept", (await read.ExpectAsync(HttpStatusCode.OK)).GetProperty("metadata").Str("topic"));
    }

    [Fact]
    public async Task DeletingAResponseTakesItsTurnOutOfItsConversationAndItsInputItemsAreListed()
    {
        var (sdk, http) = NewUser();
        ResponseResult first = await sdk.CreateResponseAsync(
            Ask(ResponseItem.CreateSystemMessageItem("Be brief."), ResponseItem.CreateUserMessageItem("first")), Cancellation);
        ResponseResult second = await sdk.CreateResponseAsync("gpt-4o-mini", "second", first.Id, Cancellation);

        var items = new List<ResponseItem>();
        await foreach (var item in sdk.GetResponseInputItemsAsync(first.Id, Cancellation))
        {
            items.Add(item);
        }
        var deleted = await sdk.DeleteResponseAsync(second.Id, Cancellation);

        Assert.Equal(["first", "Be brief."], items.Cast<MessageResponseItem>().Select(item => item.Content[0].Text));
        Assert.True(deleted.Value.Deleted);
        var error = await Assert.ThrowsAsync<ClientResultException>(() => sdk.GetResponseAsync(second.Id, Cancellation));
        Assert.Equal(404, error.Status);
        var history = await (await http.GetAsync("/conversations", Cancellation)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, history.GetProperty("data")[0].Int("message_count"));
    }

    [Fact]
    public async Task AResponseMadeBeforeItsRequestMovedToItsMessageIsStillReadListedContinuedAndDeleted()
    {
        var (sdk, _) = NewUser();
        Fake.Enqueue(FakeReply.Say("One."));
        ResponseResult made = await sdk.CreateResponseAsync(
            Ask(ResponseItem.CreateSystemMessageItem("Be brief."), ResponseItem.CreateUserMessageItem("first")), Cancellation);
        // Its rows as V8 wrote them: an id that names no conversation, the request in the response table's row.
        var old = $"resp_{Guid.NewGuid():n}"[..34];
        Assert.Equal(1, await ScalarAsync($"""
            INSERT INTO response (id, conv_id, request, created_at)
            SELECT '{old}', conv_id, request, created_at FROM message_store WHERE message_id = @mid;
            UPDATE message_store SET message_id = '{old}', request = NULL WHERE message_id = @mid;
            SELECT COUNT(*) FROM response WHERE id = '{old}';
            """, made.Id));

        ResponseResult read = await sdk.GetResponseAsync(old, Cancellation);
        var items = new List<ResponseItem>();
        await foreach (var item in sdk.GetResponseInputItemsAsync(old, Cancellation))
        {
            items.Add(item);
        }
        ResponseResult next = await sdk.CreateResponseAsync("gpt-4o-mini", "second", old, Cancellation);
        var deleted = await sdk.DeleteResponseAsync(next.Id, Cancellation);
        var deletedOld = await sdk.DeleteResponseAsync(old, Cancellation);

        Assert.Equal((ResponseStatus.Completed, "One."), (read.Status, read.GetOutputText()));
        Assert.Equal("gpt-4o-mini", read.Model);
        Assert.Equal(["first", "Be brief."], items.Cast<MessageResponseItem>().Select(item => item.Content[0].Text));
        Assert.Equal([("user", "first"), ("assistant", "One."), ("user", "second")], Fake.Requests[^1].Messages.Skip(1));
        Assert.True(deleted.Value.Deleted);
        Assert.True(deletedOld.Value.Deleted);
        Assert.Equal(0, await ScalarAsync($"SELECT COUNT(*) FROM response WHERE id = '{old}' OR id = @mid", made.Id));
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => sdk.GetResponseAsync(old, Cancellation));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task ANativeMessageWhoseIdHasAResponsesFormIsNoResponse()
    {
        var (sdk, http) = NewUser();
        var conversationId = (await (await http.PostAsJsonAsync("/chat-message", new { message = "hi" }, Cancellation))
            .ExpectAsync(HttpStatusCode.OK)).Str("conversation_id");
        var lookalike = ApiService.Data.Ids.NewResponseId(conversationId);
        using var native = await http.PostAsJsonAsync(
            "/chat-message", new { message = "not a response", message_id = lookalike, conversation_id = conversationId }, Cancellation);
        await native.ExpectAsync(HttpStatusCode.OK);

        var read = await Assert.ThrowsAsync<ClientResultException>(() => sdk.GetResponseAsync(lookalike, Cancellation));
        var deleted = await Assert.ThrowsAsync<ClientResultException>(() => sdk.DeleteResponseAsync(lookalike, Cancellation));
        using var continued = await http.PostAsJsonAsync("/v1/responses", new { input = "more", previous_response_id = lookalike }, Cancellation);

        Assert.Equal([404, 404], [read.Status, deleted.Status]);
        Assert.Equal("previous_response_id", (await ExpectOpenAIErrorAsync(continued, HttpStatusCode.NotFound)).Str("param"));
        Assert.Equal(lookalike, (await http.HistoryAsync(conversationId)).GetProperty("messages")[2].Str("message_id"));
    }

    [Fact]
    public async Task ErrorsComeInOpenAIsShapeWithTheirStatusAndParam()
    {
        var (sdk, http) = NewUser();
        using var anonymous = new HttpClient { BaseAddress = http.BaseAddress };

        using (var response = await http.PostAsJsonAsync("/v1/responses", new { input = "hi", model = "gpt-2" }, Cancellation))
        {
            Assert.Equal("model", (await ExpectOpenAIErrorAsync(response, HttpStatusCode.BadRequest)).Str("param"));
        }
        using (var response = await http.PostAsJsonAsync("/v1/responses", new { input = "hi", tools = new[] { new { type = "web_search" } } }, Cancellation))
        {
            Assert.Equal("tools[0].type", (await ExpectOpenAIErrorAsync(response, HttpStatusCode.BadRequest)).Str("param"));
        }
        using (var response = await http.PostAsJsonAsync("/v1/responses", new { input = new[] { new { role = "robot", content = "hi" } } }, Cancellation))
        {
            Assert.Equal("input[0].role", (await ExpectOpenAIErrorAsync(response, HttpStatusCode.BadRequest)).Str("param"));
        }
        using (var response = await anonymous.PostAsJsonAsync("/v1/responses", new { input = "hi" }, Cancellation))
        {
            Assert.Equal("invalid_api_key", (await ExpectOpenAIErrorAsync(response, HttpStatusCode.Unauthorized)).Str("code"));
        }
        using (var response = await http.GetAsync("/v1/nothing-here", Cancellation))
        {
            await ExpectOpenAIErrorAsync(response, HttpStatusCode.NotFound);
        }
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => sdk.GetResponseAsync("resp_doesnotexist", Cancellation));
        Assert.Equal(404, missing.Status);
        Assert.Contains("resp_doesnotexist", missing.Message, StringComparison.Ordinal);
        Assert.Empty(Fake.Requests);
    }

    [Fact]
    public async Task AFailingModelATimeOutAndARateLimitReachTheSdkAsTheirStatusesInOpenAIsShape()
    {
        var api = StartOwnApi(new Dictionary<string, string?>(Settings)
        {
            ["Chat:MaxRetries"] = "0",
            ["Chat:Timeout"] = "00:00:02",
            ["RateLimits:SendsPerMinute"] = "3",
        });
        var token = Issuer.Create($"user-{Guid.NewGuid():n}");
        // No retries of the SDK's own: each status as it came.
        var sdk = new ResponsesClient(new ApiKeyCredential(token), new ResponsesClientOptions
        {
            Endpoint = new Uri(api.BaseAddress!, "/v1"),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
        });
        Fake.Enqueue(new FakeReply.Status(500), new FakeReply.Text(["late"], Delay: TimeSpan.FromSeconds(10)));

        var failed = await Assert.ThrowsAsync<ClientResultException>(() => sdk.CreateResponseAsync("gpt-4o-mini", "fail", null, Cancellation));
        var late = await Assert.ThrowsAsync<ClientResultException>(() => sdk.CreateResponseAsync("gpt-4o-mini", "be late", null, Cancellation));
        await sdk.CreateResponseAsync("gpt-4o-mini", "third", null, Cancellation);
        var limited = await Assert.ThrowsAsync<ClientResultException>(() => sdk.CreateResponseAsync("gpt-4o-mini", "fourth", null, Cancellation));

        Assert.Equal(502, failed.Status);
        Assert.Equal("model_error", ErrorOf(failed).Str("code"));
        Assert.Equal(504, late.Status);
        Assert.Equal("timeout", ErrorOf(late).Str("code"));
        Assert.Equal(429, limited.Status);
        Assert.Equal("rate_limit_exceeded", ErrorOf(limited).Str("code"));
        Assert.True(limited.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter) && int.Parse(retryAfter!, System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    private static JsonElement ErrorOf(ClientResultException exception) =>
        JsonDocument.Parse(exception.GetRawResponse()!.Content).RootElement.GetProperty("error").Clone();

    [Fact]
    public async Task AnotherUsersResponseIsNotFoundForEveryVerb()
    {
        var (owner, _) = NewUser();
        var (stranger, _) = NewUser();
        ResponseResult mine = await owner.CreateResponseAsync("gpt-4o-mini", "mine", previousResponseId: null, Cancellation);

        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => stranger.GetResponseAsync(mine.Id, Cancellation))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => stranger.CancelResponseAsync(mine.Id, Cancellation))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => stranger.DeleteResponseAsync(mine.Id, Cancellation))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() =>
            stranger.CreateResponseAsync("gpt-4o-mini", "continue", mine.Id, Cancellation))).Status);
        Assert.Equal(ResponseStatus.Completed, ((ResponseResult)await owner.GetResponseAsync(mine.Id, Cancellation)).Status);
    }

    [Fact]
    public async Task MicrosoftExtensionsAIsChatClientOverTheSdkHoldsAConversationThroughResponseIds()
    {
        var (sdk, _) = NewUser();
        IChatClient chat = sdk.AsIChatClient("gpt-4o-mini");

        var first = await chat.GetResponseAsync("Hello from M.E.AI", cancellationToken: Cancellation);
        var second = await chat.GetResponseAsync("And again", new ChatOptions { ConversationId = first.ConversationId }, Cancellation);

        Assert.Equal("echo: Hello from M.E.AI", first.Text);
        Assert.StartsWith("resp_", first.ResponseId, StringComparison.Ordinal);
        Assert.Equal("echo: And again", second.Text);
        Assert.Equal(
            ["Hello from M.E.AI", "echo: Hello from M.E.AI", "And again"],
            Fake.Requests[^1].Messages.Skip(1).Select(message => message.Content));
    }

    [Fact]
    public async Task TheNativeSendTakesAModelOfChatModelsAndRefusesAnotherNamingTheField()
    {
        var (_, http) = NewUser();

        using var chosen = await http.PostAsJsonAsync("/chat-message", new { message = "hi", model = "gpt-4.1-mini" }, Cancellation);
        using var refused = await http.PostAsJsonAsync("/chat-message", new { message = "hi", model = "gpt-2" }, Cancellation);

        Assert.Equal("gpt-4.1-mini", (await chosen.ExpectAsync(HttpStatusCode.OK)).Str("model"));
        Assert.Equal("gpt-4.1-mini", Fake.Requests[^1].Model);
        var problem = await refused.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("model", out _));
        Assert.Single(Fake.Requests);
    }

    [Fact]
    public async Task TheChatTurnSpanOfAResponseCarriesItsResponseAndConversationIds()
    {
        var spans = new List<System.Diagnostics.Activity>();
        var api = StartApiFactory(Settings, services => services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(spans)));
        var (sdk, http) = ClientsOf(api.CreateHttpClient());

        ResponseResult response = await sdk.CreateResponseAsync("gpt-4o-mini", "Trace me.", previousResponseId: null, Cancellation);

        System.Diagnostics.Activity? turn = null;
        await Eventually.WaitForAsync(() =>
        {
            lock (spans)
            {
                turn = spans.FirstOrDefault(span => span.DisplayName == "chat turn" && span.GetTagItem("gen_ai.response.id") as string == response.Id);
            }
            return turn is not null;
        }, "the response's chat turn span");
        var conversations = await (await http.GetAsync("/conversations", Cancellation)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(conversations.GetProperty("data")[0].Str("conversation_id"), turn!.GetTagItem("gen_ai.conversation.id"));
    }

    [Fact]
    public async Task AnApiKeyMadeWithoutABearerSchemeIsTheSdksKeyOnEveryInstanceUntilItIsRevoked()
    {
        // The original's mode: no bearer scheme, a key made for the user_id the request names.
        var a = StartOwnApi();
        var b = StartOwnApi();
        var user = ChatCalls.NewUserId();
        using var created = await a.PostAsJsonAsync("/api-keys", new { name = "sdk", user_id = user }, Cancellation);
        var key = await created.ExpectAsync(HttpStatusCode.Created);
        var (sdkA, httpA) = ClientsOfToken(a, key.Str("key"));
        var (sdkB, httpB) = ClientsOfToken(b, key.Str("key"));

        ResponseResult made = await sdkA.CreateResponseAsync("gpt-4o-mini", "Keyed hello", previousResponseId: null, Cancellation);
        ResponseResult read = await sdkB.GetResponseAsync(made.Id, Cancellation);
        var conversationId = await ConversationOfAsync(httpB);
        var history = await a.HistoryAsync(conversationId, user);
        // B found the key a moment ago: its sends take it from memory, and their first transaction checks it.
        ResponseResult second = await sdkB.CreateResponseAsync("gpt-4o-mini", "Keyed again", previousResponseId: null, Cancellation);
        using (var revoked = await a.DeleteAsync($"/api-keys/{key.GetProperty("id")}?user_id={user}", Cancellation))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => sdkB.GetResponseAsync(made.Id, Cancellation));
        var refusedSend = await Assert.ThrowsAsync<ClientResultException>(
            () => sdkB.CreateResponseAsync("gpt-4o-mini", "After the revocation", previousResponseId: null, Cancellation));
        var refusedFollowUp = await Assert.ThrowsAsync<ClientResultException>(
            () => sdkB.CreateResponseAsync("gpt-4o-mini", "And a follow-up", previousResponseId: made.Id, Cancellation));
        using var nativeSend = await httpB.PostAsync("/chat-message?message=native", content: null, Cancellation);
        using var nativeFollowUp = await httpB.PostAsync($"/chat-message/stream?message=streamed&conversation_id={conversationId}", content: null, Cancellation);
        using var keyed = new HttpRequestMessage(HttpMethod.Post, "/chat-message?message=keyed") { Headers = { { "Idempotency-Key", "after-revocation" } } };
        using var nativeKeyedSend = await httpB.SendAsync(keyed, Cancellation);
        // Another user's user_id is a 403 for a valid key; a revoked one learns nothing from it.
        using var nativeOtherUser = await httpB.PostAsync($"/chat-message?message=other&user_id={user + 1}", content: null, Cancellation);
        var conversations = await (await a.GetAsync($"/conversations?user_id={user}", Cancellation)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("echo: Keyed hello", read.GetOutputText());
        Assert.Equal(["Keyed hello", "echo: Keyed hello"], history.GetProperty("messages").EnumerateArray().Select(message => message.Str("message")));
        Assert.Equal("echo: Keyed again", second.GetOutputText());
        Assert.Equal([401, 401, 401], [refused.Status, refusedSend.Status, refusedFollowUp.Status]);
        foreach (var native in new[] { nativeSend, nativeFollowUp, nativeKeyedSend, nativeOtherUser })
        {
            var problem = await native.ExpectAsync(HttpStatusCode.Unauthorized);
            Assert.Equal(ApiKeyAuthenticationHandler.NotValid, problem.Str("detail"));
            Assert.Contains("invalid_token", native.Headers.WwwAuthenticate.ToString());
        }
        // Nothing of the refused sends was stored: the two conversations of before, each one turn.
        Assert.Equal([2, 2], conversations.GetProperty("data").EnumerateArray().Select(conversation => conversation.Int("message_count")));
        using var anonymous = await a.PostAsJsonAsync("/v1/responses", new { input = "no key" }, Cancellation);
        Assert.Equal("invalid_api_key", (await ExpectOpenAIErrorAsync(anonymous, HttpStatusCode.Unauthorized)).Str("code"));
        httpA.Dispose();
        httpB.Dispose();
    }

    private static async Task<string> ConversationOfAsync(HttpClient user) =>
        (await (await user.GetAsync("/conversations", Cancellation)).ExpectAsync(HttpStatusCode.OK)).GetProperty("data")[0].Str("conversation_id");

    [Fact]
    public async Task AConversationMadeWithTheSdksConversationsClientIsReadAndContinuedThroughBothSurfaces()
    {
        var (sdk, http, conversations) = NewConversationsUser();

        var created = Parse(await conversations.CreateConversationAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            items = new object[] { new { type = "message", role = "user", content = "I like green tea." }, new { role = "assistant", content = "Noted." } },
            metadata = new { topic = "tea" },
        }))));
        var id = created.Str("id");
        var ask = Ask(ResponseItem.CreateUserMessageItem("What do I like?"));
        ask.ConversationOptions = new ResponseConversationOptions(id);
        ResponseResult answered = await sdk.CreateResponseAsync(ask, Cancellation);
        var updated = Parse(await conversations.UpdateConversationAsync(id, BinaryContent.Create(BinaryData.FromObjectAsJson(new { metadata = new { topic = "drinks" } }))));
        var (items, _) = await AllItemsAsync(conversations, id, limit: 2);
        var second = Parse(await conversations.GetConversationItemAsync(id, items[1].Str("id"), include: null, options: null));
        var native = await http.HistoryAsync(id);
        var deleted = Parse(await conversations.DeleteConversationAsync(id, options: null));

        Assert.Equal("conversation", created.Str("object"));
        Assert.Equal("tea", created.GetProperty("metadata").Str("topic"));
        Assert.Equal("drinks", updated.GetProperty("metadata").Str("topic"));
        Assert.Equal(id, answered.ConversationOptions.ConversationId);
        // The model saw the items as the conversation's first turn.
        Assert.Equal([("user", "I like green tea."), ("assistant", "Noted."), ("user", "What do I like?")], Fake.Requests[^1].Messages.Skip(1));
        Assert.Equal(["I like green tea.", "Noted.", "What do I like?", "echo: What do I like?"],
            items.Select(item => item.GetProperty("content")[0].Str("text")));
        Assert.Equal(["input_text", "output_text", "input_text", "output_text"], items.Select(item => item.GetProperty("content")[0].Str("type")));
        Assert.Equal("Noted.", second.GetProperty("content")[0].Str("text"));
        Assert.Equal(4, native.Int("message_count"));
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        using var gone = await http.GetAsync($"/get-conversation-history/{id}", Cancellation);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        http.Dispose();
    }

    [Fact]
    public async Task AConversationsItemsArePagedBothWaysFromAnyItemAndABranchedOneListsOnlyItsNewestBranch()
    {
        // Items are paged in SQL, not cut from the history the original's endpoint answers (which this bounds to 10).
        var (sdk, http, conversations) = NewConversationsUser(new(Settings) { ["Chat:HistoryMaxPage"] = "10" });
        static BinaryContent Items(int from, int count) => BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            items = Enumerable.Range(from, count).Select(n => new { role = n % 2 == 1 ? "user" : "assistant", content = $"item {n}" }),
        }));
        var id = Parse(await conversations.CreateConversationAsync(Items(1, 20))).Str("id");
        await conversations.CreateConversationItemsAsync(id, Items(21, 20));
        await conversations.CreateConversationItemsAsync(id, Items(41, 5));
        async Task<(List<string> Texts, List<string> Ids, int Pages)> AllAsync(string conversationId, int limit, string order)
        {
            var (items, pages) = await AllItemsAsync(conversations, conversationId, limit, order);
            return ([.. items.Select(TextOf)], [.. items.Select(item => item.Str("id"))], pages);
        }
        async Task<JsonElement> PageAsync(string conversationId, string query) =>
            await (await http.GetAsync($"/v1/conversations/{conversationId}/items?{query}", Cancellation)).ExpectAsync(HttpStatusCode.OK);

        // The SDK follows each page's last id as the next one's `after`, in both orders, through all 45.
        var newestFirst = await AllAsync(id, 7, "desc");
        var oldestFirst = await AllAsync(id, 10, "asc");
        var after10 = await PageAsync(id, $"order=asc&limit=3&after={oldestFirst.Ids[9]}");
        var before3 = await PageAsync(id, $"order=desc&limit=5&after={oldestFirst.Ids[2]}");
        var first = Parse(await conversations.GetConversationItemAsync(id, oldestFirst.Ids[0], include: null, options: null));
        using var unknownAfter = await http.GetAsync($"/v1/conversations/{id}/items?after=msg_not_an_item", Cancellation);

        Assert.Equal(Enumerable.Range(1, 45).Reverse().Select(n => $"item {n}"), newestFirst.Texts);
        Assert.Equal(7, newestFirst.Pages);
        Assert.Equal(Enumerable.Range(1, 45).Select(n => $"item {n}"), oldestFirst.Texts);
        Assert.Equal(["item 11", "item 12", "item 13"], after10.GetProperty("data").EnumerateArray().Select(item => item.GetProperty("content")[0].Str("text")));
        Assert.True(after10.GetProperty("has_more").GetBoolean());
        Assert.Equal(oldestFirst.Ids[10], after10.Str("first_id"));
        Assert.Equal(["item 2", "item 1"], before3.GetProperty("data").EnumerateArray().Select(item => item.GetProperty("content")[0].Str("text")));
        Assert.False(before3.GetProperty("has_more").GetBoolean());
        Assert.Equal("item 1", first.GetProperty("content")[0].Str("text"));
        Assert.Equal("after", (await ExpectOpenAIErrorAsync(unknownAfter, HttpStatusCode.BadRequest)).Str("param"));

        // A branch: the third response continues the first, beside the second. The list is the newest branch's path.
        ResponseResult one = await sdk.CreateResponseAsync(Ask(ResponseItem.CreateUserMessageItem("one")), Cancellation);
        var two = Ask(ResponseItem.CreateUserMessageItem("two"));
        two.PreviousResponseId = one.Id;
        await sdk.CreateResponseAsync(two, Cancellation);
        var three = Ask(ResponseItem.CreateUserMessageItem("three"));
        three.PreviousResponseId = one.Id;
        await sdk.CreateResponseAsync(three, Cancellation);
        var branched = await ConversationOfAsync(http); // the most recently active of the user's
        var branch = await AllAsync(branched, 1, "desc");
        var fromTheTop = await PageAsync(branched, "order=asc&limit=2");
        var history = await http.HistoryAsync(branched);
        using var afterAnotherBranch = await http.GetAsync(
            $"/v1/conversations/{branched}/items?after={history.GetProperty("messages")[2].GetProperty("siblings")[0].GetString()}", Cancellation);

        Assert.Equal(["echo: three", "three", "echo: one", "one"], branch.Texts);
        Assert.Equal(4, branch.Pages);
        Assert.Equal(["one", "echo: one"], fromTheTop.GetProperty("data").EnumerateArray().Select(item => item.GetProperty("content")[0].Str("text")));
        Assert.True(fromTheTop.GetProperty("has_more").GetBoolean());
        Assert.Equal("after", (await ExpectOpenAIErrorAsync(afterAnotherBranch, HttpStatusCode.BadRequest)).Str("param"));
        http.Dispose();
    }

    [Fact]
    public async Task DeletingAConversationsItemTakesItOutOfItsListHistoryAndLaterContextButARunningTurnsMessageStays()
    {
        var (sdk, http, conversations) = NewConversationsUser();
        var id = Parse(await conversations.CreateConversationAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            items = new object[] { new { role = "user", content = "I like green tea." }, new { role = "assistant", content = "Noted." },
                new { role = "user", content = "I like lemons." }, new { role = "assistant", content = "Noted too." } },
            metadata = new { topic = "tea" },
        })))).Str("id");
        var ask = Ask(ResponseItem.CreateUserMessageItem("What do I like?"));
        ask.ConversationOptions = new ResponseConversationOptions(id);
        ResponseResult answered = await sdk.CreateResponseAsync(ask, Cancellation);
        async Task<List<(string Id, string Text)>> ItemsAsync() =>
            [.. (await AllItemsAsync(conversations, id, limit: 10)).Items.Select(item => (item.Str("id"), TextOf(item)))];
        var before = await ItemsAsync();

        // The first item, then the response's reply: the response goes with it (a response is its turn's rows).
        var deleted = Parse(await conversations.DeleteConversationItemAsync(id, before[0].Id));
        await conversations.DeleteConversationItemAsync(id, before[5].Id);
        var again = await Assert.ThrowsAsync<ClientResultException>(() => conversations.DeleteConversationItemAsync(id, before[0].Id));
        var read = await Assert.ThrowsAsync<ClientResultException>(() => conversations.GetConversationItemAsync(id, before[0].Id, include: null, options: null));
        var response = await Assert.ThrowsAsync<ClientResultException>(() => sdk.GetResponseAsync(answered.Id, Cancellation));
        var stranger = ClientsOfToken(http, Issuer.Create($"user-{Guid.NewGuid():n}")).Http;
        using var othersItem = await stranger.DeleteAsync($"/v1/conversations/{id}/items/{before[1].Id}", Cancellation);
        var after = await ItemsAsync();
        var history = await http.HistoryAsync(id);
        // The message whose reply went is a turn that ended without one: sent again, it is answered anew.
        using var resent = await http.PostAsync(
            $"/chat-message?message={Uri.EscapeDataString("What do I like?")}&conversation_id={id}&message_id={answered.Id}", content: null, Cancellation);
        var answeredAgain = await resent.ExpectAsync(HttpStatusCode.OK);
        var next = Ask(ResponseItem.CreateUserMessageItem("Again?"));
        next.ConversationOptions = new ResponseConversationOptions(id);
        await sdk.CreateResponseAsync(next, Cancellation);
        var context = Fake.Requests[^1].Messages.Skip(1).ToList();

        Assert.Equal(["I like green tea.", "Noted.", "I like lemons.", "Noted too.", "What do I like?", "echo: What do I like?"], before.Select(item => item.Text));
        Assert.Equal((id, "conversation", "tea"), (deleted.Str("id"), deleted.Str("object"), deleted.GetProperty("metadata").Str("topic")));
        Assert.Equal([404, 404, 404], [again.Status, read.Status, response.Status]);
        Assert.Equal("not_found", (await ExpectOpenAIErrorAsync(othersItem, HttpStatusCode.NotFound)).Str("code"));
        Assert.Equal(["Noted.", "I like lemons.", "Noted too.", "What do I like?"], after.Select(item => item.Text));
        Assert.Equal(4, history.Int("message_count"));
        Assert.Equal(["Noted.", "I like lemons.", "Noted too.", "What do I like?"], history.GetProperty("messages").EnumerateArray().Select(message => message.Str("message")));
        Assert.Equal("Cancelled", history.GetProperty("messages")[3].Str("status"));
        Assert.Equal("echo: What do I like?", answeredAgain.Str("message"));
        // The context is whole turns: the reply whose message went is not sent.
        Assert.Equal([("user", "I like lemons."), ("assistant", "Noted too."), ("user", "What do I like?"), ("assistant", "echo: What do I like?"), ("user", "Again?")],
            context);

        // A message whose reply is being generated stays, with a 409 that says why; once the turn ended it can go.
        var hold = new TaskCompletionSource();
        Fake.Enqueue(new FakeReply.Text(["Still ", "thinking"], HoldAfterFirstPiece: hold.Task));
        var slow = Ask(ResponseItem.CreateUserMessageItem("Think slowly."));
        slow.ConversationOptions = new ResponseConversationOptions(id);
        slow.BackgroundModeEnabled = true;
        ResponseResult running = await sdk.CreateResponseAsync(slow, Cancellation);
        await Eventually.WaitForAsync(async () => ((ResponseResult)await sdk.GetResponseAsync(running.Id, Cancellation)).GetOutputText() == "Still ",
            "the slow reply's first piece");
        using var refused = await http.DeleteAsync($"/v1/conversations/{id}/items/{running.Id}", Cancellation);
        var refusal = await ExpectOpenAIErrorAsync(refused, HttpStatusCode.Conflict);
        hold.SetResult();
        await Eventually.WaitForAsync(async () => ((ResponseResult)await sdk.GetResponseAsync(running.Id, Cancellation)).Status == ResponseStatus.Completed,
            "the slow reply's end");
        await conversations.DeleteConversationItemAsync(id, running.Id);

        Assert.Equal(("conflict", "item_id"), (refusal.Str("code"), refusal.Str("param")));
        Assert.Equal(["Noted.", "I like lemons.", "Noted too.", "What do I like?", "echo: What do I like?", "Again?", "echo: Again?", "Still thinking"],
            (await ItemsAsync()).Select(item => item.Text));
        http.Dispose();
        stranger.Dispose();
    }

    [Fact]
    public async Task DeletingATurnOrAnItemOfABranchLeavesTheRowsThatFollowedItOnTheirOwnBranch()
    {
        var (sdk, http, conversations) = NewConversationsUser();
        async Task<ResponseResult> AskAsync(string text, string? previous)
        {
            var ask = Ask(ResponseItem.CreateUserMessageItem(text));
            ask.PreviousResponseId = previous;
            return await sdk.CreateResponseAsync(ask, Cancellation);
        }
        // 1 one, 2 its reply; 3 two, 4 its reply; 5 three beside two (a branch after 2), 6 its reply; 7 four after 6, 8 its reply.
        var one = await AskAsync("one", null);
        await AskAsync("two", one.Id);
        var three = await AskAsync("three", one.Id);
        var four = await AskAsync("four", three.Id);
        var id = await ConversationOfAsync(http);
        async Task<List<string>> NewestBranchAsync() => [.. (await AllItemsAsync(conversations, id, limit: 20)).Items.Select(TextOf)];
        var before = await NewestBranchAsync();

        // The turn four followed goes: four follows what it followed, not the branch beside it.
        await sdk.DeleteResponseAsync(three.Id, Cancellation);
        var withoutThree = await NewestBranchAsync();
        // Then four's message: its reply follows what four followed.
        await conversations.DeleteConversationItemAsync(id, four.Id);
        var withoutFour = await NewestBranchAsync();
        var history = await http.HistoryAsync(id);
        // A reply whose message stays: the message is answered again in its place, and what followed follows that.
        var oneReply = (await AllItemsAsync(conversations, id, limit: 20)).Items[1].Str("id");
        await conversations.DeleteConversationItemAsync(id, oneReply);
        using var resent = await http.PostAsync($"/chat-message?message=one&conversation_id={id}&message_id={one.Id}", content: null, Cancellation);
        await resent.ExpectAsync(HttpStatusCode.OK);
        var answeredAgain = await NewestBranchAsync();

        Assert.Equal(["one", "echo: one", "three", "echo: three", "four", "echo: four"], before);
        Assert.Equal(["one", "echo: one", "four", "echo: four"], withoutThree);
        Assert.Equal(["one", "echo: one", "echo: four"], withoutFour);
        Assert.Equal(withoutFour, history.GetProperty("messages").EnumerateArray().Select(message => message.Str("message")));
        Assert.Equal(["one", "echo: one", "echo: four"], answeredAgain);
        http.Dispose();
    }

    private static JsonElement Parse(ClientResult result) => JsonDocument.Parse(result.GetRawResponse().Content).RootElement.Clone();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFunctionToolsCallComesBackAsAFunctionCallItemAndItsOutputContinuesTheTurnAsContext(bool streamed)
    {
        var (sdk, _) = NewUser();
        Fake.Enqueue(new FakeReply.Calls([("call_1", "get_weather", """{"city":"Paris"}""")]), FakeReply.Say("Sunny in Paris."));
        var ask = Ask(ResponseItem.CreateUserMessageItem("Weather in Paris?"));
        ask.Tools.Add(ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(
            """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""), strictModeEnabled: false, "The weather of a city"));

        ResponseResult called;
        if (streamed)
        {
            ask.StreamingEnabled = true;
            var updates = new List<StreamingResponseUpdate>();
            await foreach (var update in sdk.CreateResponseStreamingAsync(ask, Cancellation))
            {
                updates.Add(update);
            }
            Assert.Contains("response.function_call_arguments.done", updates.Select(update => update.EventName()));
            called = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
            Assert.Equal(Json(called), Json((ResponseResult)await sdk.GetResponseAsync(called.Id, Cancellation)));
        }
        else
        {
            called = await sdk.CreateResponseAsync(ask, Cancellation);
        }
        var call = Assert.Single(called.OutputItems.OfType<FunctionCallResponseItem>());
        // An output for another call, and a plain message instead of the output, are refused before the model.
        var wrong = Ask(ResponseItem.CreateFunctionCallOutputItem("call_other", "{}"));
        wrong.PreviousResponseId = called.Id;
        Assert.Equal(400, (await Assert.ThrowsAsync<ClientResultException>(() => sdk.CreateResponseAsync(wrong, Cancellation))).Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<ClientResultException>(() =>
            sdk.CreateResponseAsync("gpt-4o-mini", "never mind", called.Id, Cancellation))).Status);
        var next = Ask(ResponseItem.CreateFunctionCallOutputItem(call.CallId, """{"sky":"clear"}"""));
        next.PreviousResponseId = called.Id;
        ResponseResult answered = await sdk.CreateResponseAsync(next, Cancellation);

        Assert.Equal(("get_weather", "call_1"), (call.FunctionName, call.CallId));
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.Str("city"));
        Assert.Equal("get_weather", Fake.Requests[^2].Body["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("Sunny in Paris.", answered.GetOutputText());
        // The second call saw the question, the call and its output, in order.
        var messages = Fake.Requests[^1].Body["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "tool"], messages.Select(message => message!["role"]!.GetValue<string>()));
        Assert.Equal("call_1", messages[2]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("call_1", messages[3]!["tool_call_id"]!.GetValue<string>());
        Assert.Contains("clear", messages[3]!["content"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheModelsListIsChatModels()
    {
        var (_, http) = NewUser();

        var models = await (await http.GetAsync("/v1/models", Cancellation)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(["gpt-4o-mini", "gpt-4.1-mini"], models.GetProperty("data").EnumerateArray().Select(model => model.Str("id")));
    }

    // A request of input items that names no model: the server's first of Chat:Models.
    private static CreateResponseOptions Ask(params ResponseItem[] items)
    {
        var options = new CreateResponseOptions();
        foreach (var item in items)
        {
            options.InputItems.Add(item);
        }
        return options;
    }

    private static (ResponsesClient Sdk, HttpClient Http) ClientsOfToken(HttpClient api, string token)
    {
        var sdk = new ResponsesClient(new ApiKeyCredential(token), new ResponsesClientOptions { Endpoint = new Uri(api.BaseAddress!, "/v1") });
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (sdk, http);
    }

    // Every item of a conversation through the SDK's paging (pages of limit): the items, and how many pages it read.
    private static async Task<(List<JsonElement> Items, int Pages)> AllItemsAsync(
        OpenAI.Conversations.ConversationClient conversations, string id, int limit, string order = "asc")
    {
        var (items, pages) = (new List<JsonElement>(), 0);
        await foreach (var page in conversations.GetConversationItemsAsync(id, limit, order, after: null, include: null, options: null).GetRawPagesAsync())
        {
            pages++;
            items.AddRange(JsonDocument.Parse(page.GetRawResponse().Content).RootElement.GetProperty("data").EnumerateArray().Select(item => item.Clone()));
        }
        return (items, pages);
    }

    private static string TextOf(JsonElement item) => item.GetProperty("content")[0].Str("text");

    // A new user of a new API (a bearer token of its own), with the SDK's Responses and Conversations clients and HTTP.
    private (ResponsesClient Sdk, HttpClient Http, OpenAI.Conversations.ConversationClient Conversations) NewConversationsUser(
        Dictionary<string, string?>? settings = null)
    {
        var api = StartApi(settings ?? Settings);
        var token = Issuer.Create($"user-{Guid.NewGuid():n}");
        var (sdk, http) = ClientsOfToken(api, token);
        return (sdk, http, ConversationsOf(api, token));
    }

    private static OpenAI.Conversations.ConversationClient ConversationsOf(HttpClient api, string token) =>
        new(new ApiKeyCredential(token), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(api.BaseAddress!, "/v1") });

    private static async Task<JsonElement> ExpectOpenAIErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.ExpectAsync(status);
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.Str("message")));
        Assert.False(string.IsNullOrEmpty(error.Str("type")));
        return error;
    }

    private static string Json(ResponseResult response) => System.ClientModel.Primitives.ModelReaderWriter.Write(response).ToString();
}
