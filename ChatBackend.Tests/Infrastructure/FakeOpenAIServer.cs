using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>What the fake model does with one request.</summary>
public abstract record FakeReply
{
    /// <summary>A reply, plain or streamed as the request asks, in <paramref name="Pieces"/> (streamed one by one).</summary>
    public sealed record Text(
        IReadOnlyList<string> Pieces, TimeSpan Delay = default, string? FinishReason = "stop", TimeSpan PieceDelay = default,
        Task? HoldAfterFirstPiece = null) : FakeReply;

    /// <summary>An error status, with a Retry-After header when given.</summary>
    public sealed record Status(int Code, string? RetryAfter = null) : FakeReply;

    /// <summary>A 200 whose body is not JSON.</summary>
    public sealed record MalformedJson : FakeReply;

    /// <summary>The connection is dropped before any answer.</summary>
    public sealed record Drop : FakeReply;

    /// <summary>A stream that sends <paramref name="Pieces"/> and then, once <paramref name="Cut"/> completes, loses its connection.</summary>
    public sealed record CutStream(IReadOnlyList<string> Pieces, Task Cut) : FakeReply;

    /// <summary>
    /// Calls of the request's tools (finish reason tool_calls), after the words <paramref name="Saying"/> when given,
    /// plain or streamed.
    /// </summary>
    public sealed record Calls(IReadOnlyList<(string Id, string Name, string Arguments)> ToolCalls, string? Saying = null) : FakeReply;

    public static Text Say(params string[] pieces) => new(pieces);
}

/// <summary>One request the fake model received.</summary>
public sealed record FakeRequest(string Path, IReadOnlyDictionary<string, string> Headers, JsonNode Body)
{
    public string Header(string name) => Headers.GetValueOrDefault(name, "");

    public string? Model => Body["model"]?.GetValue<string>();

    public bool Stream => Body["stream"]?.GetValue<bool>() ?? false;

    public double? Temperature => Body["temperature"]?.GetValue<double>();

    public int? MaxTokens => (Body["max_completion_tokens"] ?? Body["max_tokens"])?.GetValue<int>();

    public IReadOnlyList<(string Role, string Content)> Messages =>
        [.. Body["messages"]!.AsArray().Select(message => (message!["role"]!.GetValue<string>(), ContentOf(message["content"])))];

    private static string ContentOf(JsonNode? content) => content switch
    {
        JsonValue value => value.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(part => part!["text"]?.GetValue<string>())),
        _ => "",
    };
}

/// <summary>
/// An OpenAI-compatible server on a loopback port: /v1/chat/completions, plain and streaming, and Azure OpenAI's
/// deployment routes. Each request takes the next scripted reply; with none left it echoes the last user message.
/// </summary>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeReply> _script = new();
    private readonly ConcurrentQueue<FakeRequest> _requests = new();

    private FakeOpenAIServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<FakeRequest> Requests => [.. _requests];

    /// <summary>Usage the fake reports for each reply.</summary>
    public const int PromptTokens = 11;
    public const int CompletionTokens = 7;

    public static async Task<FakeOpenAIServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAIServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapPost("/openai/v1/chat/completions", server.HandleAsync);
        app.MapPost("/openai/deployments/{deployment}/chat/completions", server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    /// <summary>ConnectionStrings:openai for the OpenAI protocol against this server.</summary>
    public string OpenAIConnectionString(string model = "gpt-4o-mini", string key = "fake-key") =>
        $"Endpoint={BaseAddress}v1;Key={key};Model={model}";

    /// <summary>ConnectionStrings:openai for Azure OpenAI against this server.</summary>
    public string AzureConnectionString(string deployment, string key = "fake-azure-key") =>
        $"Endpoint={BaseAddress};Key={key};Deployment={deployment}";

    /// <summary>Forgets the script and the requests so far: each test of a class that shares the server starts clean.</summary>
    public void Reset()
    {
        _script.Clear();
        _requests.Clear();
    }

    public void Enqueue(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        // Copied: the server reuses its header collections once the request is over.
        var headers = context.Request.Headers.ToDictionary(header => header.Key, header => header.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var request = new FakeRequest(context.Request.Path, headers, body);
        _requests.Enqueue(request);
        var reply = _script.TryDequeue(out var next) ? next : FakeReply.Say($"echo: {request.Messages[^1].Content}");
        var aborted = context.RequestAborted;
        var response = context.Response;
        var model = request.Model ?? (context.Request.RouteValues["deployment"] as string) ?? "fake";

        switch (reply)
        {
            case FakeReply.Status(var code, var retryAfter):
                response.StatusCode = code;
                if (retryAfter is not null)
                {
                    response.Headers.RetryAfter = retryAfter;
                }
                await response.WriteAsJsonAsync(new { error = new { message = $"fake {code}", type = "fake", code = code.ToString() } }, aborted);
                return;
            case FakeReply.MalformedJson:
                response.ContentType = "application/json";
                await response.WriteAsync("{\"id\": \"chatcmpl-broken\", \"choices\": [", aborted);
                return;
            case FakeReply.Drop:
                context.Abort();
                return;
            case FakeReply.CutStream(var pieces, var cut):
                await StartStreamAsync(response, aborted);
                foreach (var piece in pieces)
                {
                    await WriteChunkAsync(response, Chunk(model, piece, finishReason: null), aborted);
                }
                // The test cuts once its pieces have come through: an abort resets the connection, and a reset that
                // overtook them would look like a connection refused before any answer.
                await cut.WaitAsync(aborted);
                context.Abort();
                return;
            case FakeReply.Calls(var calls, var saying):
                var toolCalls = new JsonArray([.. calls.Select((call, index) => (JsonNode)new JsonObject
                {
                    ["index"] = index,
                    ["id"] = call.Id,
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.Arguments },
                })]);
                if (!request.Stream)
                {
                    var completion = Completion(model, "", "tool_calls");
                    completion["choices"]![0]!["message"] = new JsonObject { ["role"] = "assistant", ["content"] = saying, ["tool_calls"] = toolCalls };
                    await response.WriteAsJsonAsync(completion, aborted);
                    return;
                }
                await StartStreamAsync(response, aborted);
                if (saying is not null)
                {
                    await WriteChunkAsync(response, Chunk(model, saying, finishReason: null), aborted);
                }
                var delta = Chunk(model, null, finishReason: null);
                delta["choices"]![0]!["delta"] = new JsonObject { ["role"] = "assistant", ["tool_calls"] = toolCalls };
                await WriteChunkAsync(response, delta, aborted);
                await WriteChunkAsync(response, Chunk(model, null, "tool_calls"), aborted);
                await response.WriteAsync("data: [DONE]\n\n", aborted);
                return;
            case FakeReply.Text text:
                await Task.Delay(text.Delay, aborted);
                if (!request.Stream)
                {
                    await response.WriteAsJsonAsync(Completion(model, string.Concat(text.Pieces), text.FinishReason), aborted);
                    return;
                }
                await StartStreamAsync(response, aborted);
                for (var i = 0; i < text.Pieces.Count; i++)
                {
                    await WriteChunkAsync(response, Chunk(model, text.Pieces[i], finishReason: null), aborted);
                    if (i == 0 && text.HoldAfterFirstPiece is { } hold)
                    {
                        await hold.WaitAsync(aborted);
                    }
                    await Task.Delay(text.PieceDelay, aborted);
                }
                if (text.FinishReason is not null)
                {
                    await WriteChunkAsync(response, Chunk(model, null, text.FinishReason), aborted);
                }
                var usage = Envelope(model, "chat.completion.chunk", choice: null);
                usage["usage"] = Usage();
                await WriteChunkAsync(response, usage, aborted);
                await response.WriteAsync("data: [DONE]\n\n", aborted);
                return;
        }
    }

    private static async Task StartStreamAsync(HttpResponse response, CancellationToken aborted)
    {
        response.ContentType = "text/event-stream";
        await response.Body.FlushAsync(aborted);
    }

    private static async Task WriteChunkAsync(HttpResponse response, JsonObject chunk, CancellationToken aborted)
    {
        await response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", Encoding.UTF8, aborted);
        await response.Body.FlushAsync(aborted);
    }

    private static JsonObject Chunk(string model, string? piece, string? finishReason) =>
        Envelope(model, "chat.completion.chunk", new JsonObject
        {
            ["index"] = 0,
            ["delta"] = piece is null ? new JsonObject() : new JsonObject { ["role"] = "assistant", ["content"] = piece },
            ["finish_reason"] = finishReason,
        });

    private static JsonObject Completion(string model, string text, string? finishReason)
    {
        var completion = Envelope(model, "chat.completion", new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
            ["finish_reason"] = finishReason,
        });
        completion["usage"] = Usage();
        return completion;
    }

    private static JsonObject Envelope(string model, string type, JsonObject? choice) => new()
    {
        ["id"] = "chatcmpl-fake",
        ["object"] = type,
        ["created"] = 1_700_000_000,
        ["model"] = model,
        ["choices"] = choice is null ? new JsonArray() : new JsonArray(choice),
    };

    private static JsonObject Usage() => new()
    {
        ["prompt_tokens"] = PromptTokens,
        ["completion_tokens"] = CompletionTokens,
        ["total_tokens"] = PromptTokens + CompletionTokens,
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
