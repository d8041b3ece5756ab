using System.Reflection;
using System.Text;
using System.Text.Json;
using ChatBackend.ApiService.Chat;
using Microsoft.AspNetCore.Http.Features;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A reply as server-sent events: <c>start</c>, a <c>delta</c> per piece as the model produces it, then <c>done</c>
/// (or <c>error</c>). A client that goes away stops only the sending: the turn runs on and stores its reply.
/// </summary>
public sealed partial class ChatEventStream : IResult, IEndpointMetadataProvider
{
    public const string ContentType = "text/event-stream";

    public const string FormatDescription =
        "Same fields and request forms as /chat-message. Errors found before the stream begins (validation, unknown " +
        "conversation, message_id conflicts) are ordinary problem-details responses. Otherwise the answer is " +
        "text/event-stream: `event: start` with {\"conversation_id\", \"message_id\"}; `event: delta` with " +
        "{\"text\"} for each piece of the reply as it arrives; then `event: done` with {\"conversation_id\", " +
        "\"message_id\", \"reply_message_id\", \"message_count\", \"model\", \"finish_reason\", \"usage\", " +
        "\"elapsed_ms\", \"time_to_first_token_ms\"}, or `event: error` with a problem-details object (status 502, 503 when " +
        "the database failed, 504, or 409 for a cancelled reply) when the turn fails after the stream began, or `event: resume` with " +
        "{\"conversation_id\", \"message_id\", \"reason\", \"detail\"} when the server shut down before the reply was " +
        "finished: send the message again with the same ids for the whole reply. A `: keepalive` comment " +
        "is sent after 15 s without data. If the client disconnects, the reply is still generated and stored: read " +
        "it from the history. A message_id that was already answered streams its stored reply as a single delta.";

    private static readonly byte[] KeepAlive = ": keepalive\n\n"u8.ToArray();

    private readonly TurnRun? _run;
    private readonly ChatMessageResponse? _answered;
    private readonly TimeSpan _heartbeat;

    /// <summary>Streams a running turn.</summary>
    public ChatEventStream(TurnRun run, TimeSpan heartbeat)
    {
        _run = run;
        _heartbeat = heartbeat;
    }

    /// <summary>Streams a reply stored before (a retried message_id) as one piece.</summary>
    public ChatEventStream(ChatMessageResponse answered) => _answered = answered;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var json = httpContext.RequestServices.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        var aborted = httpContext.RequestAborted;
        var writer = new EventWriter(response, json, aborted);
        try
        {
            if (_answered is { } answered)
            {
                await writer.WriteAsync("start", new StreamStart(answered.ConversationId, answered.MessageId));
                await writer.WriteAsync("delta", new StreamDelta(answered.Message));
                await writer.WriteAsync("done", StreamDone.From(answered));
                return;
            }

            var run = _run!;
            await writer.WriteAsync("start", new StreamStart(run.Turn.ConversationId, run.Turn.MessageId));
            await RelayDeltasAsync(run, writer, aborted);
            await WriteEndAsync(run, writer, httpContext);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away. The turn goes on and stores its reply; the client finds it in the history.
        }
    }

    private async Task RelayDeltasAsync(TurnRun run, EventWriter writer, CancellationToken aborted)
    {
        var deltas = run.Deltas;
        Task<bool>? waiting = null;
        while (true)
        {
            waiting ??= deltas.WaitToReadAsync(aborted).AsTask();
            var quiet = Task.Delay(_heartbeat, aborted);
            if (await Task.WhenAny(waiting, quiet) == quiet)
            {
                aborted.ThrowIfCancellationRequested();
                await writer.WriteRawAsync(KeepAlive);
                continue;
            }
            if (!await waiting)
            {
                return;
            }
            waiting = null;
            while (deltas.TryRead(out var piece))
            {
                await writer.WriteAsync("delta", new StreamDelta(piece), flush: false);
            }
            await writer.FlushAsync();
        }
    }

    private static async Task WriteEndAsync(TurnRun run, EventWriter writer, HttpContext httpContext)
    {
        TurnOutcome outcome;
        try
        {
            outcome = await run.Completion;
        }
        catch (Exception exception)
        {
            var logger = httpContext.RequestServices.GetRequiredService<ILogger<ChatEventStream>>();
            LogStreamFailed(logger, run.Turn.ConversationId, exception.GetType().Name);
            await writer.WriteAsync("error", Problems.ForException(exception));
            return;
        }

        if (outcome is TurnOutcome.Answered(var answered))
        {
            await writer.WriteAsync("done", StreamDone.From(ChatMessageResponse.From(answered)));
        }
        else if (outcome is TurnOutcome.ServerStopping(var conversationId, var messageId))
        {
            await writer.WriteAsync("resume", new StreamResume(conversationId, messageId, StreamResume.ServerStopping,
                "This server is shutting down; the reply so far is stored. Send the message again with the same " +
                "conversation_id and message_id for the whole reply."));
        }
        else
        {
            await writer.WriteAsync("error", Problems.For(outcome).ProblemDetails);
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), [ContentType]));

    [LoggerMessage(Level = LogLevel.Error, Message = "The reply stream of conversation {ConversationId} failed: {ExceptionType}.")]
    private static partial void LogStreamFailed(ILogger logger, string conversationId, string exceptionType);

    // Writes events in the text/event-stream format. The data is one line of JSON: JSON text never holds a raw line break.
    private sealed class EventWriter(HttpResponse response, JsonSerializerOptions json, CancellationToken aborted)
    {
        public async Task WriteAsync<T>(string eventName, T data, bool flush = true)
        {
            var text = $"event: {eventName}\ndata: {JsonSerializer.Serialize(data, json)}\n\n";
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), aborted);
            if (flush)
            {
                await FlushAsync();
            }
        }

        public async Task WriteRawAsync(byte[] bytes)
        {
            await response.Body.WriteAsync(bytes, aborted);
            await FlushAsync();
        }

        public Task FlushAsync() => response.Body.FlushAsync(aborted);
    }
}
