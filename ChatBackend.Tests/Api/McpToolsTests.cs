using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI.Responses;
using OpenTelemetry.Trace;

namespace ChatBackend.Tests.Api;

/// <summary>
/// Tools the server runs: a real MCP server on loopback (ModelContextProtocol.AspNetCore) whose tools the fake model is
/// scripted to call, through the native send and through /v1/responses with the OpenAI SDK's mcp tool. The API's MCP
/// clients connect to loopback only (<see cref="LoopbackOnlyConnections"/>): no test sends a packet beyond it.
/// </summary>
[Trait("Category", "Api")]
public sealed class McpToolsTests(McpToolsTests.Fixture fixture) : FakeModelTest(fixture), IClassFixture<McpToolsTests.Fixture>
{
    private const string Secret = "mcp-secret-0b9f2d";

    public sealed class Fixture(DatabaseFixture database) : FakeModelFixture(database, "mcp"), IAsyncLifetime
    {
        public McpTestServer Mcp { get; private set; } = null!;

        public LoopbackOnlyConnections Connections { get; } = new();

        public CapturedLogs Logs { get; } = new();

        public List<Activity> Spans { get; } = [];

        public SymmetricTokens Issuer { get; } = new();

        public ApiFactory Api { get; private set; } = null!;

        async ValueTask IAsyncLifetime.InitializeAsync()
        {
            await InitializeAsync();
            Mcp = await McpTestServer.StartAsync();
            var port = Mcp.Endpoint.Port;
            Api = NewApi(Issuer.Settings(new()
            {
                ["Tools:Mcp:Servers:local:Url"] = Mcp.Endpoint.ToString(),
                ["Tools:Mcp:Servers:local:Headers:X-Api-Key"] = Secret,
                ["Tools:Mcp:Servers:quick:Url"] = Mcp.Endpoint.ToString(),
                ["Tools:Mcp:Servers:quick:Timeout"] = "00:00:00.300",
                ["Tools:Mcp:Servers:down:Url"] = "http://127.0.0.1:1/mcp",
                ["Tools:Mcp:Servers:guarded:Url"] = Mcp.Endpoint.ToString(),
                ["Tools:Mcp:Servers:guarded:RequireApproval"] = "count",
                ["Tools:Mcp:AllowedUrls:0"] = $"http://localhost:{port}/mcp",
                ["Tools:Mcp:AllowedUrls:1"] = "http://10.0.0.5/mcp",
                ["Tools:Mcp:AllowedUrls:2"] = "http://169.254.169.254/",
                ["Tools:MaxOutputCharacters"] = "500",
                ["Tools:MaxRounds"] = "3",
                ["RateLimits:SendsPerMinute"] = "10000",
                ["RateLimits:ConcurrentTurnsPerUser"] = "100",
            }), services =>
            {
                Connections.AddTo(services);
                services.AddSingleton<ILoggerProvider>(Logs);
                services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(Spans));
            });
        }

        async ValueTask IAsyncDisposable.DisposeAsync()
        {
            await Api.DisposeAsync();
            await Mcp.DisposeAsync();
            await DisposeAsync();
        }
    }

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private McpTestState Mcp => fixture.Mcp.State;

    // A new user's HTTP client and SDK client, with a bearer token.
    private (HttpClient Http, ResponsesClient Sdk) NewUser()
    {
        var token = fixture.Issuer.Create($"user-{Guid.NewGuid():n}");
        var http = fixture.Api.CreateHttpClient();
        http.Timeout = TimeSpan.FromSeconds(60);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var sdk = new ResponsesClient(new ApiKeyCredential(token), new ResponsesClientOptions { Endpoint = new Uri(http.BaseAddress!, "/v1") });
        return (http, sdk);
    }

    private static FakeReply.Calls Call(string name, string arguments, string id = "call_1") => new([(id, name, arguments)]);

    private static JsonObject Tool(string label, string? url = null, Dictionary<string, string>? headers = null)
    {
        var tool = new JsonObject { ["type"] = "mcp", ["server_label"] = label, ["require_approval"] = "never" };
        if (url is not null)
        {
            tool["server_url"] = url;
        }
        if (headers is not null)
        {
            tool["headers"] = JsonSerializer.SerializeToNode(headers);
        }
        return tool;
    }

    // Instance A, a process of its own (to be killed with SIGKILL) with the class's bearer scheme and MCP server (on
    // loopback), a client of it, and a client of the class's API (B) as the same new user.
    private async Task<(ApiProcess A, HttpClient OnA, HttpClient B)> InstanceAAsync()
    {
        var environment = fixture.Issuer.Settings().ToDictionary(
            setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value!);
        environment["Tools__Mcp__Servers__local__Url"] = fixture.Mcp.Endpoint.ToString();
        var a = await ApiProcess.StartAsync(ConnectionString, Fake.OpenAIConnectionString(), environment);
        var (b, _) = NewUser();
        var onA = new HttpClient { BaseAddress = a.BaseAddress, Timeout = TestTimeouts.Bound };
        onA.DefaultRequestHeaders.Authorization = b.DefaultRequestHeaders.Authorization;
        return (a, onA, b);
    }

    private static Task<HttpResponseMessage> RespondAsync(HttpClient http, string input, params JsonObject[] tools) =>
        http.PostAsJsonAsync("/v1/responses", new JsonObject { ["input"] = input, ["tools"] = new JsonArray([.. tools]) }, Cancellation);

    // The messages of a request the fake model received, as JSON (tool calls and results included).
    private static JsonArray MessagesOf(FakeRequest request) => request.Body["messages"]!.AsArray();

    [Fact]
    public async Task ANativeSendWithAServersToolsRunsTheModelsCallAndTheModelAnswersWithItsResult()
    {
        var (http, _) = NewUser();
        Fake.Enqueue(Call("add", """{"a":2,"b":3}"""));
        Fake.Enqueue(FakeReply.Say("It is 5."));

        using var response = await http.PostAsJsonAsync("/chat-message", new { message = "What is 2+3?", tools = "local" }, Cancellation);

        var reply = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("It is 5.", reply.Str("message"));
        var entries = reply.GetProperty("tool_calls").EnumerateArray().ToList();
        Assert.Equal(["mcp_list_tools", "mcp_call"], entries.Select(entry => entry.Str("type")));
        Assert.Contains(entries[0].GetProperty("tools").EnumerateArray(), tool => tool.Str("name") == "add");
        Assert.Equal(("local", "add", "5"), (entries[1].Str("server_label"), entries[1].Str("name"), entries[1].Str("output")));
        Assert.Contains(Fake.Requests[0].Body["tools"]!.AsArray(), tool => tool!["function"]!["name"]!.GetValue<string>() == "add");
        var second = MessagesOf(Fake.Requests[1]);
        Assert.Equal("tool", second[^1]!["role"]!.GetValue<string>());
        Assert.Equal("5", second[^1]!["content"]!.GetValue<string>());
        Assert.Equal(Secret, Mcp.Headers["X-Api-Key"]);

        // A later turn has the call and its result in its context, and the history shows them with the reply.
        using var next = await http.PostAsJsonAsync(
            "/chat-message", new { message = "And again?", conversation_id = reply.Str("conversation_id") }, Cancellation);
        await next.ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(MessagesOf(Fake.Requests[^1]), message => message!["role"]!.GetValue<string>() == "tool" && message["content"]!.GetValue<string>() == "5");
        var history = await http.HistoryAsync(reply.Str("conversation_id"));
        var stored = history.GetProperty("messages")[1].GetProperty("tool_calls").EnumerateArray().Select(entry => entry.Str("type"));
        Assert.Equal(["mcp_list_tools", "mcp_call"], stored);
    }

    // A request through the SDK with the test's own MCP server as a tool that needs no approval.
    private CreateResponseOptions AskWithTheLocalServer(string input, bool streamed = false)
    {
        var options = new CreateResponseOptions { Model = "gpt-4o-mini", StreamingEnabled = streamed };
        options.InputItems.Add(ResponseItem.CreateUserMessageItem(input));
        options.Tools.Add(ResponseTool.CreateMcpTool(
            "local", fixture.Mcp.Endpoint, toolCallApprovalPolicy: new McpToolCallApprovalPolicy(DefaultMcpToolCallApprovalPolicy.NeverRequireApproval)));
        return options;
    }

    [Fact]
    public async Task AResponseWithAnMcpToolThroughTheSdkHasTheListTheCallAndTheAnswerAsOutputItems()
    {
        var (_, sdk) = NewUser();
        Fake.Enqueue(Call("add", """{"a":20,"b":22}"""));
        Fake.Enqueue(FakeReply.Say("42."));
        var options = AskWithTheLocalServer("What is 20+22?");

        ResponseResult response = await sdk.CreateResponseAsync(options, Cancellation);

        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal("42.", response.GetOutputText());
        var list = Assert.IsType<McpToolDefinitionListItem>(response.OutputItems[0]);
        Assert.Equal("local", list.ServerLabel);
        Assert.Contains(list.ToolDefinitions, tool => tool.Name == "count");
        var call = Assert.IsType<McpToolCallItem>(response.OutputItems[1]);
        Assert.Equal(("local", "add", "42"), (call.ServerLabel, call.ToolName, call.ToolOutput));
        ResponseResult read = await sdk.GetResponseAsync(response.Id, Cancellation);
        Assert.Equal(3, read.OutputItems.Count);
    }

    [Fact]
    public async Task AStreamedResponseSendsTheListAndTheCallAsTheyHappenWithTheIndexesOfItsOutput()
    {
        var (_, sdk) = NewUser();
        Mcp.Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Fake.Enqueue(Call("gate", "{}"));
        Fake.Enqueue(FakeReply.Say("Seven", "."));
        var options = AskWithTheLocalServer("Pass the gate", streamed: true);

        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in sdk.CreateResponseStreamingAsync(options, Cancellation))
        {
            updates.Add(update);
            // The call is announced while it runs: the gate opens only once the client has seen it start.
            if (update.EventName() == "response.mcp_call_arguments.done")
            {
                Assert.False(Mcp.Gate.Task.IsCompleted);
                Mcp.Gate.SetResult();
            }
        }

        var names = updates.Select(update => update.EventName()).ToList();
        Assert.Equal(
            ["response.created", "response.in_progress",
             "response.output_item.added", "response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed", "response.output_item.done",
             "response.output_item.added", "response.mcp_call.in_progress", "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done",
             "response.mcp_call.completed", "response.output_item.done",
             "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
             "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"],
            names);
        var numbers = updates.Select(update => update.SequenceNumber).ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Count, numbers.Distinct().Count());
        var call = Assert.IsType<McpToolCallItem>(updates.OfType<StreamingResponseOutputItemDoneUpdate>().Select(done => done.Item).OfType<McpToolCallItem>().Single());
        Assert.Equal(("gate", "gate passed"), (call.ToolName, call.ToolOutput));
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
        Assert.Equal("Seven.", completed.GetOutputText());
        // Each item's output_index in the stream is its place in the response's output.
        var output = completed.OutputItems.Select(item => item.Id).ToList();
        Assert.Equal(3, output.Count);
        foreach (var added in updates.OfType<StreamingResponseOutputItemAddedUpdate>())
        {
            Assert.Equal(added.Item.Id, output[added.OutputIndex]);
        }
        Assert.IsAssignableFrom<MessageResponseItem>(completed.OutputItems[2]);
    }

    [Fact]
    public async Task AResponseStreamResumedFromAToolEventsNumberGoesOnWithTheSameEventsAndNumbers()
    {
        var (_, sdk) = NewUser();
        Fake.Enqueue(new FakeReply.Calls([("call_1", "add", """{"a":1,"b":2}""")], Saying: "Adding. "));
        Fake.Enqueue(FakeReply.Say("Three", "."));
        var options = AskWithTheLocalServer("1+2?", streamed: true);
        var live = new List<StreamingResponseUpdate>();
        await foreach (var update in sdk.CreateResponseStreamingAsync(options, Cancellation))
        {
            live.Add(update);
        }
        var id = Assert.IsType<StreamingResponseCompletedUpdate>(live[^1]).Response.Id;
        // The list, then the message with the text before the call, then the call, then the rest of the message's text.
        Assert.Equal("response.output_text.delta", live[8].EventName());
        var callStarted = live.FindIndex(update => update.EventName() == "response.mcp_call.in_progress");
        Assert.True(callStarted > 8);
        Assert.Equal("response.output_text.delta", live[callStarted + 5].EventName());

        var resumed = new List<StreamingResponseUpdate>();
        await foreach (var update in sdk.GetResponseStreamingAsync(
            new GetResponseOptions(id) { StartingAfter = live[callStarted].SequenceNumber, StreamingEnabled = true }, Cancellation))
        {
            resumed.Add(update);
        }

        // The same events with the same numbers; the stored text after the call comes as one delta, numbered as the
        // last live one (a delta's number is where its text ends).
        static bool IsDelta(StreamingResponseUpdate update) => update is StreamingResponseOutputTextDeltaUpdate;
        var rest = live.Skip(callStarted + 1).ToList();
        Assert.Equal(rest.Where(update => !IsDelta(update)).Select(update => (update.EventName(), update.SequenceNumber)),
            resumed.Where(update => !IsDelta(update)).Select(update => (update.EventName(), update.SequenceNumber)));
        var delta = Assert.IsType<StreamingResponseOutputTextDeltaUpdate>(Assert.Single(resumed, IsDelta));
        Assert.Equal(("Three.", rest.Last(IsDelta).SequenceNumber), (delta.Delta, delta.SequenceNumber));
    }

    [Fact]
    public async Task ANativeStreamSendsEachCallAsItStartsAndEndsBetweenThePiecesAndResumesAfterAToolEvent()
    {
        var (http, _) = NewUser();
        Fake.Enqueue(new FakeReply.Calls([("call_a", "add", """{"a":5,"b":5}"""), ("call_f", "fail", "{}")], Saying: "Let me see. "));
        Fake.Enqueue(FakeReply.Say("Ten", ", and a failure."));

        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
        {
            Content = JsonContent.Create(new { message = "5+5, then fail", tools = "local" }),
        }, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        var events = await ServerSentEvents.ReadAllAsync(response).Bounded();

        Assert.Equal(["start", "delta", "tool_call", "tool_result", "tool_call", "tool_result", "delta", "delta", "done"], events.Select(item => item.Name));
        Assert.Equal(("call_a", "local", "add"), (events[2].Data.Str("call_id"), events[2].Data.Str("server_label"), events[2].Data.Str("name")));
        Assert.Equal("10", events[3].Data.Str("output"));
        Assert.Contains("the tool broke on purpose", events[5].Data.Str("error"));
        // The ids count the tool events (the list of tools is the first, before the text, without an event of its own
        // in this API).
        Assert.Equal(["0.12.1", "0.12.2", "0.12.3", "0.12.4", "0.12.5", "0.15.5", "0.31.5", "0.31.5"], events.Skip(1).Select(item => item.Id));
        var entries = events[^1].Data.GetProperty("tool_calls").EnumerateArray().ToList();
        Assert.Equal(["mcp_list_tools", "mcp_call", "mcp_call"], entries.Select(entry => entry.Str("type")));
        Assert.Equal([0, 12, 12], entries.Select(entry => entry.GetProperty("text_offset").GetInt32()));

        // Resumed after the first call's result: the second call, then the rest of the text, nothing twice.
        var (conversationId, messageId) = (events[0].Data.Str("conversation_id"), events[0].Data.Str("message_id"));
        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/conversations/{conversationId}/messages/{messageId}/stream");
        resume.Headers.Add("Last-Event-ID", events[3].Id);
        using var resumed = await http.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        var rest = await ServerSentEvents.ReadAllAsync(resumed).Bounded();

        Assert.Equal(["start", "tool_call", "tool_result", "delta", "done"], rest.Select(item => item.Name));
        Assert.Equal("call_f", rest[1].Data.Str("call_id"));
        Assert.Equal("Ten, and a failure.", rest[3].Data.Str("text"));
    }

    [Fact]
    public async Task AStreamResumedOnAnotherInstanceFollowsACallThatIsStillRunningThere()
    {
        var (a, onA, b) = await InstanceAAsync();
        using var _ = a;
        using var __ = onA;
        Mcp.Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Fake.Enqueue(new FakeReply.Calls([("call_gate", "gate", "{}")], Saying: "Checking. "));
        Fake.Enqueue(FakeReply.Say("Through."));
        var messageId = ChatCalls.NewMessageId();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
        {
            Content = JsonContent.Create(new { message = "Pass the gate natively", message_id = messageId, tools = "local" }),
        };
        using var onAStream = await onA.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        await using var onAEvents = ServerSentEvents.ReadEventsAsync(onAStream, cancellationToken: Cancellation).GetAsyncEnumerator(Cancellation);
        var seenOnA = new List<ServerSentEvents.Event>();
        while (seenOnA.LastOrDefault()?.Name != "tool_call" && await onAEvents.MoveNextAsync())
        {
            seenOnA.Add(onAEvents.Current);
        }
        Assert.Equal(["start", "delta", "tool_call"], seenOnA.Select(item => item.Name));

        // B resumes after the text A sent: it follows the call A runs through the database, and the rest as it comes.
        var conversationId = seenOnA[0].Data.Str("conversation_id");
        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/conversations/{conversationId}/messages/{messageId}/stream");
        resume.Headers.Add("Last-Event-ID", seenOnA[1].Id);
        using var onBStream = await b.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        await using var onBEvents = ServerSentEvents.ReadEventsAsync(onBStream, cancellationToken: Cancellation).GetAsyncEnumerator(Cancellation);
        var seenOnB = new List<ServerSentEvents.Event>();
        while (seenOnB.LastOrDefault()?.Name != "tool_call" && await onBEvents.MoveNextAsync())
        {
            seenOnB.Add(onBEvents.Current);
        }
        Assert.False(Mcp.Gate.Task.IsCompleted);
        Mcp.Gate.SetResult();
        while (await onBEvents.MoveNextAsync())
        {
            seenOnB.Add(onBEvents.Current);
        }

        Assert.Equal(["start", "tool_call", "tool_result", "delta", "done"], seenOnB.Select(item => item.Name));
        Assert.Equal(seenOnA[2].Id, seenOnB[1].Id);
        Assert.Equal("gate passed", seenOnB[2].Data.Str("output"));
        Assert.Equal("Through.", seenOnB[3].Data.Str("text"));
    }

    [Fact]
    public async Task AFailingASlowAndAnOversizedToolEachBecomeWhatTheModelSeesAndIsStored()
    {
        var (http, _) = NewUser();
        Fake.Enqueue(new FakeReply.Calls([("c1", "fail", "{}"), ("c2", "slow", """{"milliseconds":5000}"""), ("c3", "large", """{"characters":2000}""")]));
        Fake.Enqueue(FakeReply.Say("Noted."));

        using var response = await RespondAsync(http, "Try them.", Tool("quick"));

        var body = await response.ExpectAsync(HttpStatusCode.OK);
        var calls = body.GetProperty("output").EnumerateArray().Where(item => item.Str("type") == "mcp_call").ToList();
        Assert.Contains("the tool broke on purpose", calls[0].Str("error"));
        Assert.Equal("failed", calls[0].Str("status"));
        Assert.Contains("did not answer within 0.3 s", calls[1].Str("error"));
        Assert.StartsWith(new string('x', 500), calls[2].Str("output"));
        Assert.Contains("cut at 500 of its 2000 characters", calls[2].Str("output"));
        var results = MessagesOf(Fake.Requests[^1]).Where(message => message!["role"]!.GetValue<string>() == "tool")
            .Select(message => message!["content"]!.GetValue<string>()).ToList();
        Assert.Equal(3, results.Count);
        Assert.Contains("the tool broke on purpose", results[0]);
        Assert.Equal("completed", body.Str("status"));
    }

    [Fact]
    public async Task AServerThatCannotBeListedFailsTheTurnNamingItsLabel()
    {
        var (http, _) = NewUser();

        using var native = await http.PostAsJsonAsync("/chat-message", new { message = "hi", tools = "down" }, Cancellation);
        var problem = await native.ExpectProblemAsync(HttpStatusCode.BadGateway);
        Assert.Contains("'down'", problem.Str("detail"));

        using var response = await RespondAsync(http, "hi", Tool("down"));
        var error = (await response.ExpectAsync(HttpStatusCode.BadGateway)).GetProperty("error");
        Assert.Contains("'down'", error.Str("message"));
        Assert.Empty(Fake.Requests);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/mcp")]
    [InlineData("http://169.254.169.254/latest")]
    [InlineData("http://10.0.0.5/mcp")]
    [InlineData("https://mcp.example.com/mcp")]
    public async Task AServerUrlOfTheOperatorsNetworkOrNotAllowedIsA400AndNothingIsConnected(string url)
    {
        var (http, _) = NewUser();
        var (input, refused) = ($"hi {Guid.NewGuid():n}", fixture.Connections.Refused.Count);

        using var response = await RespondAsync(http, input, Tool("elsewhere", url));

        var error = (await response.ExpectAsync(HttpStatusCode.BadRequest)).GetProperty("error");
        Assert.Equal("tools[0].server_url", error.Str("param"));
        AssertNotAsked(input);
        Assert.Equal(refused, fixture.Connections.Refused.Count);
    }

    [Fact]
    public async Task AnAllowedServerUrlWhoseNameResolvesToLoopbackIsRefusedWhenConnecting()
    {
        var (http, _) = NewUser();
        var (input, refused, before) = ($"hi {Guid.NewGuid():n}", fixture.Connections.Refused.Count, Mcp.Headers.Count);

        using var response = await RespondAsync(http, input, Tool("named", $"http://localhost:{fixture.Mcp.Endpoint.Port}/mcp"));

        var error = (await response.ExpectAsync(HttpStatusCode.BadGateway)).GetProperty("error");
        Assert.Contains("'named'", error.Str("message"));
        Assert.Equal(before, Mcp.Headers.Count);
        Assert.Equal(refused, fixture.Connections.Refused.Count);
        AssertNotAsked(input);
    }

    // The model was never asked about this input (by this test: another's turn may still reach the class's fake model).
    private void AssertNotAsked(string input) =>
        Assert.DoesNotContain(Fake.Requests, request => request.Body.ToJsonString().Contains(input, StringComparison.Ordinal));

    [Fact]
    public async Task HeadersAreSentToTheServerButNeverAnsweredNorLogged()
    {
        var (http, _) = NewUser();
        const string requestSecret = "request-secret-77c1";
        Fake.Enqueue(Call("add", """{"a":1,"b":1}"""));
        Fake.Enqueue(FakeReply.Say("2"));

        using var response = await RespondAsync(
            http, "1+1?", Tool("local", fixture.Mcp.Endpoint.ToString(), new() { ["X-Request-Key"] = requestSecret }));

        var body = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(requestSecret, body);
        Assert.DoesNotContain(Secret, body);
        var id = JsonDocument.Parse(body).RootElement.Str("id");
        var read = await (await http.GetAsync($"/v1/responses/{id}", Cancellation)).Content.ReadAsStringAsync(Cancellation);
        Assert.DoesNotContain(requestSecret, read);
        Assert.DoesNotContain(fixture.Logs.Lines, line => line.Contains(requestSecret) || line.Contains(Secret));
    }

    [Fact]
    public async Task AModelThatKeepsCallingToolsIsToldToAnswerAfterMaxRounds()
    {
        var (http, _) = NewUser();
        var before = Mcp.CountCalls;
        for (var i = 0; i < 3; i++)
        {
            Fake.Enqueue(Call("count", "{}", $"call_{i}"));
        }
        Fake.Enqueue(FakeReply.Say("Done counting."));

        using var response = await http.PostAsJsonAsync("/chat-message", new { message = "Count forever", tools = "local" }, Cancellation);

        Assert.Equal("Done counting.", (await response.ExpectAsync(HttpStatusCode.OK)).Str("message"));
        Assert.Equal(3, Mcp.CountCalls - before);
        Assert.NotEqual("none", Fake.Requests[2].Body["tool_choice"]?.ToString());
        Assert.Equal("none", Fake.Requests[3].Body["tool_choice"]?.GetValue<string>());

        // A model that calls anyway is not obeyed: nothing more runs, and a reply of calls alone is no answer.
        Fake.Enqueue(Call("count", "{}", "call_a"), Call("count", "{}", "call_b"), Call("count", "{}", "call_c"), Call("count", "{}", "call_d"));
        using var stubborn = await http.PostAsJsonAsync("/chat-message", new { message = "Count more", tools = "local" }, Cancellation);
        await stubborn.ExpectProblemAsync(HttpStatusCode.BadGateway);
        Assert.Equal(6, Mcp.CountCalls - before);
    }

    [Fact]
    public async Task ACancelDuringASlowCallStopsItAndStoresTheTurnAsCancelledKeepingTheStoppedCall()
    {
        var (http, sdk) = NewUser();
        Fake.Enqueue(Call("slow", """{"milliseconds":30000}"""));
        var started = Mcp.SlowStarted;

        using var created = await http.PostAsJsonAsync("/v1/responses",
            new JsonObject { ["input"] = "wait", ["background"] = true, ["tools"] = new JsonArray(Tool("local")) }, Cancellation);
        var id = (await created.ExpectAsync(HttpStatusCode.OK)).Str("id");
        await Eventually.WaitForAsync(() => Mcp.SlowStarted > started, "the slow call to start");
        var finished = Mcp.SlowFinished;

        using var cancel = await http.PostAsync($"/v1/responses/{id}/cancel", content: null, Cancellation);

        Assert.Equal("cancelled", (await cancel.ExpectAsync(HttpStatusCode.OK)).Str("status"));
        Assert.Equal(finished, Mcp.SlowFinished);
        ResponseResult read = await sdk.GetResponseAsync(id, Cancellation);
        Assert.Equal(ResponseStatus.Cancelled, read.Status);
        // It keeps the tool work it had done, the call it stopped as failed; its stream, read afterwards, shows the same.
        var call = Assert.IsType<McpToolCallItem>(read.OutputItems[1]);
        Assert.Equal(("slow", true), (call.ToolName, call.Error is not null));
        var events = new List<StreamingResponseUpdate>();
        await foreach (var update in sdk.GetResponseStreamingAsync(new GetResponseOptions(id) { StreamingEnabled = true }, Cancellation))
        {
            events.Add(update);
        }
        Assert.Equal(["response.mcp_call.failed", "response.output_item.done", "response.incomplete"], events.TakeLast(3).Select(update => update.EventName()));
        Assert.Equal(2, Assert.IsType<StreamingResponseIncompleteUpdate>(events[^1]).Response.OutputItems.Count);
    }

    [Fact]
    public async Task EachCallIsAnExecuteToolSpanUnderTheTurnsSpan()
    {
        var (http, _) = NewUser();
        Fake.Enqueue(Call("add", """{"a":4,"b":4}""", "call_span"));
        Fake.Enqueue(FakeReply.Say("8"));

        using var response = await http.PostAsJsonAsync("/chat-message", new { message = "4+4", tools = "local" }, Cancellation);
        await response.ExpectAsync(HttpStatusCode.OK);

        // Each span is exported when it ends: the turn's after the call's.
        Activity? tool = null;
        Activity? turn = null;
        await Eventually.WaitForAsync(() =>
        {
            lock (fixture.Spans)
            {
                tool = fixture.Spans.FirstOrDefault(span => span.GetTagItem("gen_ai.tool.call.id") as string == "call_span");
                turn = tool is null ? null : fixture.Spans.FirstOrDefault(span => span.SpanId == tool.ParentSpanId);
            }
            return turn is not null;
        }, "the call's execute_tool span and its parent");
        Assert.Equal("execute_tool add", tool!.DisplayName);
        Assert.Equal("add", tool.GetTagItem("gen_ai.tool.name"));
        Assert.Null(tool.GetTagItem("gen_ai.tool.call.arguments"));
        Assert.Equal("chat turn", turn!.DisplayName);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ANativeCallThatNeedsApprovalWaitsForItAndRunsOnlyOnceApproved(bool approve)
    {
        var (http, _) = NewUser();
        var before = Mcp.CountCalls;
        Fake.Enqueue(new FakeReply.Calls([("call_ok", "add", """{"a":1,"b":2}"""), ("call_wait", "count", "{}")]));

        using var asked = await http.PostAsJsonAsync("/chat-message", new { message = "Add, then count", tools = "guarded" }, Cancellation);

        var waiting = await asked.ExpectAsync(HttpStatusCode.OK);
        var entries = waiting.GetProperty("tool_calls").EnumerateArray().ToList();
        Assert.Equal(["mcp_list_tools", "mcp_call", "mcp_approval_request"], entries.Select(entry => entry.Str("type")));
        Assert.Equal(("count", "call_wait"), (entries[2].Str("name"), entries[2].Str("call_id")));
        Assert.Equal(before, Mcp.CountCalls);
        Fake.Enqueue(FakeReply.Say(approve ? "Counted." : "Not counted."));

        using var answer = await http.PostAsync(
            $"/conversations/{waiting.Str("conversation_id")}/messages/{waiting.Str("message_id")}/approval?approve={approve}", content: null, Cancellation);

        var reply = await answer.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(approve ? "Counted." : "Not counted.", reply.Str("message"));
        Assert.Equal(approve ? 1 : 0, Mcp.CountCalls - before);
        var messages = MessagesOf(Fake.Requests[^1]);
        // The model saw the call it made before approval, then its result or the refusal.
        Assert.Equal("3", messages[^3]!["content"]!.GetValue<string>());
        var result = messages[^1]!["content"]!.GetValue<string>();
        Assert.True(approve ? result.StartsWith("call ", StringComparison.Ordinal) : result.Contains("refused"), result);
        Assert.Equal("call_wait", messages[^2]!["tool_calls"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnApprovalThroughTheSdkIsAnApprovalRequestItemAnsweredWithPreviousResponseId()
    {
        var (_, sdk) = NewUser();
        var before = Mcp.CountCalls;
        Fake.Enqueue(Call("count", "{}", "call_sdk"));
        var tool = ResponseTool.CreateMcpTool(
            "local", fixture.Mcp.Endpoint, toolCallApprovalPolicy: new McpToolCallApprovalPolicy(DefaultMcpToolCallApprovalPolicy.AlwaysRequireApproval));
        var first = new CreateResponseOptions { Model = "gpt-4o-mini" };
        first.InputItems.Add(ResponseItem.CreateUserMessageItem("Count once."));
        first.Tools.Add(tool);

        ResponseResult waiting = await sdk.CreateResponseAsync(first, Cancellation);

        var request = Assert.Single(waiting.OutputItems.OfType<McpToolCallApprovalRequestItem>());
        Assert.Equal(("local", "count"), (request.ServerLabel, request.ToolName));
        Assert.Equal(before, Mcp.CountCalls);
        Fake.Enqueue(FakeReply.Say("Counted once."));
        var second = new CreateResponseOptions { Model = "gpt-4o-mini", PreviousResponseId = waiting.Id };
        second.InputItems.Add(ResponseItem.CreateMcpApprovalResponseItem(request.Id, true));
        second.Tools.Add(tool);

        ResponseResult answered = await sdk.CreateResponseAsync(second, Cancellation);

        Assert.Equal("Counted once.", answered.GetOutputText());
        var call = Assert.Single(answered.OutputItems.OfType<McpToolCallItem>());
        Assert.Equal(("count", $"call {Mcp.CountCalls}"), (call.ToolName, call.ToolOutput));
        Assert.Equal(1, Mcp.CountCalls - before);
    }

    [Fact]
    public async Task AnInstanceKilledDuringACallHasItsTurnTakenOverWithoutRunningAnyCallAgain()
    {
        var (a, onA, b) = await InstanceAAsync();
        using var _ = a;
        using var __ = onA;
        var (counted, slowStarted) = (Mcp.CountCalls, Mcp.SlowStarted);
        Fake.Enqueue(new FakeReply.Calls([("call_count", "count", "{}"), ("call_slow", "slow", """{"milliseconds":60000}""")]));
        Fake.Enqueue(FakeReply.Say("Recovered."));

        using var created = await onA.PostAsJsonAsync("/v1/responses",
            new JsonObject { ["input"] = "Count, then wait", ["background"] = true, ["tools"] = new JsonArray(Tool("local")) }, Cancellation);
        var id = (await created.ExpectAsync(HttpStatusCode.OK)).Str("id");
        await Eventually.WaitForAsync(() => Mcp.SlowStarted > slowStarted, "the slow call to start on A");
        a.Kill();

        // Polled on B until it takes the turn over and finishes it.
        JsonElement last = default;
        await Eventually.WaitForAsync(async () =>
        {
            using var read = await b.GetAsync($"/v1/responses/{id}", Cancellation);
            last = await read.ExpectAsync(HttpStatusCode.OK);
            return last.Str("status") == "completed";
        }, "the response completed by B");

        Assert.Equal(1, Mcp.CountCalls - counted);
        Assert.Equal(1, Mcp.SlowStarted - slowStarted);
        var calls = last.GetProperty("output").EnumerateArray().Where(item => item.Str("type") == "mcp_call").ToList();
        Assert.Equal(["count", "slow"], calls.Select(call => call.Str("name")));
        Assert.Equal($"call {Mcp.CountCalls}", calls[0].Str("output"));
        Assert.Contains("interrupted", calls[1].Str("error"));
        var results = MessagesOf(Fake.Requests[^1]).Where(message => message!["role"]!.GetValue<string>() == "tool")
            .Select(message => message!["content"]!.GetValue<string>()).ToList();
        Assert.Equal(2, results.Count);
        Assert.Contains("interrupted", results[1]);
        Assert.Equal("Recovered.", last.GetProperty("output").EnumerateArray().Single(item => item.Str("type") == "message")
            .GetProperty("content")[0].Str("text"));
    }

    [Fact]
    public async Task ANativeTurnTakenOverRunsWithTheToolsItsSendChose()
    {
        var (a, onA, b) = await InstanceAAsync();
        using var _ = a;
        using var __ = onA;
        var slowStarted = Mcp.SlowStarted;
        Fake.Enqueue(Call("slow", """{"milliseconds":60000}""", "call_native"));
        Fake.Enqueue(FakeReply.Say("Back."));
        var messageId = ChatCalls.NewMessageId();

        string conversationId;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
        {
            Content = JsonContent.Create(new { message = "Wait natively", message_id = messageId, tools = "local" }),
        })
        using (var stream = await onA.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation))
        {
            await using var events = ServerSentEvents.ReadEventsAsync(stream, cancellationToken: Cancellation).GetAsyncEnumerator(Cancellation);
            Assert.True(await events.MoveNextAsync());
            conversationId = events.Current.Data.Str("conversation_id");
            await Eventually.WaitForAsync(() => Mcp.SlowStarted > slowStarted, "the slow call to start on A");
            a.Kill();
        }

        using var resumed = await b.GetAsync(
            $"/conversations/{conversationId}/messages/{messageId}/stream", HttpCompletionOption.ResponseHeadersRead, Cancellation);
        var steps = await ServerSentEvents.ReadAllAsync(resumed).Bounded();
        var done = steps[^1];

        // The takeover's steps as it makes them (after what B read of A's attempt, if A wrote it before it died): the
        // interrupted call reported, not run, then the reply.
        var names = steps.Select(item => item.Name).ToList();
        Assert.Equal("start", names[0]);
        Assert.Equal(["tool_call", "tool_result", "delta", "done"], names.Skip(Math.Max(names.LastIndexOf("restart"), 0) + 1));
        Assert.Equal("done", done.Name);
        Assert.NotNull(Fake.Requests[^1].Body["tools"]);
        var slow = done.Data.GetProperty("tool_calls").EnumerateArray().Single(entry => entry.Str("type") == "mcp_call");
        Assert.Contains("interrupted", slow.Str("error"));
        Assert.Equal(1, Mcp.SlowStarted - slowStarted);
    }

    [Fact]
    public async Task AToolsFieldNamingAnUnconfiguredServerIsA400NamingIt()
    {
        var (http, _) = NewUser();

        using var response = await http.PostAsJsonAsync("/chat-message", new { message = "hi", tools = "local,nowhere" }, Cancellation);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("nowhere", problem.GetProperty("errors").GetProperty("tools")[0].GetString());
    }
}
