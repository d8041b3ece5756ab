using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Reflection;
using System.Text;
using System.Text.Json;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.Features;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A reply as server-sent events: <c>start</c>, a <c>delta</c> per piece as the model produces it and the tool
/// events where they happen, each with an id to resume from, then <c>done</c> (or <c>error</c>, or <c>resume</c>). A
/// client that goes away stops only the sending: the turn runs on and stores its reply.
/// </summary>
public sealed partial class ChatEventStream : IResult, IEndpointMetadataProvider
{
    public const string ContentType = "text/event-stream";

    public const string FormatDescription =
        "Same fields and request forms as /chat-message. Errors found before the stream begins (validation, unknown " +
        "conversation, message_id conflicts) are ordinary problem-details responses. Otherwise the answer is " +
        "text/event-stream: `event: start` with {\"conversation_id\", \"message_id\"}; `event: delta` with " +
        "{\"text\"} for each piece of the reply as it arrives; with MCP tools, where they happen between the pieces, " +
        "`event: tool_call` {\"call_id\", \"server_label\", \"name\", \"arguments\"} as a call the server runs starts, " +
        "`event: tool_result` {\"call_id\", \"output\" or \"error\"} as it ends, and `event: approval_request` for each " +
        "call that waits for approval; then `event: done` with {\"conversation_id\", " +
        "\"message_id\", \"reply_message_id\", \"message_count\", \"model\", \"finish_reason\", \"usage\", " +
        "\"elapsed_ms\", \"time_to_first_token_ms\"}, or `event: error` with a problem-details object (status 502, 503 when " +
        "the database failed, 504, or 409 for a cancelled reply) when the turn fails after the stream began, or `event: resume` with " +
        "{\"conversation_id\", \"message_id\", \"reason\", \"detail\"} when the server shut down before the reply was " +
        "finished: send the message again with the same ids for the whole reply. A `: keepalive` comment " +
        "is sent after 15 s without data. If the client disconnects, the reply is still generated and stored: read " +
        "it from the history. A message_id that was already answered streams its stored reply as a single delta (cut where its tool events come).";

    private static ReadOnlySpan<byte> KeepAlive => ": keepalive\n\n"u8;

    private readonly string _conversationId;
    private readonly ReplyStreamFormat _format;
    private readonly IAsyncEnumerable<ReplyEvent> _events;
    private readonly TimeSpan _heartbeat;

    /// <summary>Streams the reply to a message as <paramref name="events"/> follow it, in this API's events.</summary>
    public ChatEventStream(string conversationId, string messageId, IAsyncEnumerable<ReplyEvent> events, TimeSpan heartbeat)
        : this(conversationId, new NativeFormat(conversationId, messageId), events, heartbeat)
    {
    }

    /// <summary>Streams a reply as <paramref name="events"/> follow it, in the events of <paramref name="format"/>.</summary>
    public ChatEventStream(string conversationId, ReplyStreamFormat format, IAsyncEnumerable<ReplyEvent> events, TimeSpan heartbeat)
    {
        _conversationId = conversationId;
        _format = format;
        _events = events;
        _heartbeat = heartbeat;
    }

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
            _format.WriteStart(writer);
            await writer.FlushAsync();
            await RelayAsync(writer, httpContext, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away. The turn goes on and stores its reply; the client resumes it or reads the history.
        }
    }

    private async Task RelayAsync(EventWriter writer, HttpContext httpContext, CancellationToken aborted)
    {
        var events = _events.GetAsyncEnumerator(aborted);
        // One timer for the stream's silence, not one per wait: it is set again only when it runs out.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        Task? silence = null;
        Task<bool>? next = null;
        try
        {
            while (true)
            {
                next ??= events.MoveNextAsync().AsTask();
                // Pieces that are there already go out together, with one flush.
                if (!next.IsCompleted)
                {
                    await writer.FlushAsync();
                    if (silence is null)
                    {
                        var left = _heartbeat - writer.Silent;
                        silence = Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero, ending.Token);
                    }
                    if (await Task.WhenAny(next, silence) == silence)
                    {
                        silence = null;
                        aborted.ThrowIfCancellationRequested();
                        if (writer.Silent >= _heartbeat)
                        {
                            writer.WriteRaw(KeepAlive);
                        }
                        continue;
                    }
                }
                bool more;
                try
                {
                    more = await next;
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !aborted.IsCancellationRequested)
                {
                    var logger = httpContext.RequestServices.GetRequiredService<ILogger<ChatEventStream>>();
                    LogStreamFailed(logger, _conversationId, exception.GetType().Name);
                    _format.WriteFailure(writer, Problems.ForException(exception));
                    await writer.FlushAsync();
                    return;
                }
                next = null;
                if (!more)
                {
                    await writer.FlushAsync();
                    return;
                }
                _format.Write(writer, events.Current);
            }
        }
        finally
        {
            await ending.CancelAsync();
            if (next is not null)
            {
                await next.ContinueWith(static _ => { }, TaskScheduler.Default);
            }
            await events.DisposeAsync();
        }
    }

    // This API's own events: start, delta, restart, then done, error or resume.
    private sealed class NativeFormat(string conversationId, string messageId) : ReplyStreamFormat
    {
        public override void WriteStart(EventWriter writer) => writer.Write("start", new StreamStart(conversationId, messageId), id: null);

        public override void WriteFailure(EventWriter writer, ProblemDetails problem) => writer.Write("error", problem, id: null);

        public override void Write(EventWriter writer, ReplyEvent item) => WriteNative(writer, item);
    }

    private static void WriteNative(EventWriter writer, ReplyEvent item)
    {
        var id = item.Position.ToString();
        switch (item)
        {
            case ReplyEvent.Delta(var text, _):
                writer.Write("delta", new StreamDelta(text), id);
                break;
            case ReplyEvent.Restarted(var position):
                writer.Write("restart", new StreamRestart(position.Attempt), id);
                break;
            case ReplyEvent.Tool({ Entry: var entry, Ended: var ended }, _):
                // A call as it starts and as it ends, a call that waits for approval; a list of tools has no event of
                // its own (the reply's tool_calls in done has it), but counts in the position.
                if (entry.Type == ToolCall.McpCall)
                {
                    if (ended)
                    {
                        writer.Write("tool_result", new StreamToolResult(entry.CallId, entry.Output, entry.Error), id);
                    }
                    else
                    {
                        writer.Write("tool_call", new StreamToolCall(entry.CallId, entry.ServerLabel!, entry.Name!, entry.Arguments!), id);
                    }
                }
                else if (entry.Type == ToolCall.McpApprovalRequest)
                {
                    writer.Write("approval_request", new StreamToolCall(entry.CallId, entry.ServerLabel!, entry.Name!, entry.Arguments!), id);
                }
                break;
            case ReplyEvent.Ended(TurnOutcome.Answered(var answered), _):
                writer.Write("done", StreamDone.From(ChatMessageResponse.From(answered)), id);
                break;
            case ReplyEvent.Ended(TurnOutcome.ServerStopping(var conversationId, var messageId), _):
                writer.Write("resume", new StreamResume(conversationId, messageId, StreamResume.ServerStopping,
                    "This server is shutting down; the reply so far is stored. Send the message again with the same " +
                    "conversation_id and message_id for the whole reply."), id);
                break;
            case ReplyEvent.Ended(TurnOutcome.TakenOver(var conversationId, var messageId), _):
                writer.Write("resume", new StreamResume(conversationId, messageId, StreamResume.TakenOver,
                    "Another server took this reply over; resume it with Last-Event-ID at " +
                    $"/conversations/{conversationId}/messages/{messageId}/stream."), id);
                break;
            case ReplyEvent.Ended(var outcome, _):
                writer.Write("error", Problems.For(outcome).ProblemDetails, id);
                break;
            default:
                throw new InvalidOperationException($"Unknown reply event {item.GetType().Name}.");
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), [ContentType]));

    [LoggerMessage(Level = LogLevel.Error, Message = "The reply stream of conversation {ConversationId} failed: {ExceptionType}.")]
    private static partial void LogStreamFailed(ILogger logger, string conversationId, string exceptionType);

    // Writes events in the text/event-stream format, straight into the response's buffer; FlushAsync sends them. The
    // data is one line of JSON: JSON text never holds a raw line break.
    public sealed class EventWriter(HttpResponse response, JsonSerializerOptions json, CancellationToken aborted)
    {
        private readonly PipeWriter _body = response.BodyWriter;
        private Utf8JsonWriter? _json;
        private bool _unsent;
        private long _lastSent = Stopwatch.GetTimestamp();

        public void Write<T>(string eventName, T data, string? id)
        {
            JsonSerializer.Serialize(BeginEvent(eventName, id), data, json);
            EndEvent();
        }

        /// <summary>
        /// Opens an event whose data the caller writes itself, as one JSON value, into the writer returned (for the
        /// events written per piece of a reply, where the serializer's reflection costs more than the rest); then
        /// <see cref="EndEvent"/>.
        /// </summary>
        public Utf8JsonWriter BeginEvent(string eventName, string? id)
        {
            if (id is not null)
            {
                WriteRaw("id: "u8);
                Encoding.UTF8.GetBytes(id, _body);
                WriteRaw("\n"u8);
            }
            WriteRaw("event: "u8);
            Encoding.UTF8.GetBytes(eventName, _body);
            WriteRaw("\ndata: "u8);
            if (_json is null)
            {
                _json = new Utf8JsonWriter(_body, new JsonWriterOptions { Encoder = json.Encoder });
            }
            else
            {
                _json.Reset(_body);
            }
            return _json;
        }

        /// <summary>Ends the event <see cref="BeginEvent"/> opened.</summary>
        public void EndEvent()
        {
            _json!.Flush();
            WriteRaw("\n\n"u8);
        }

        public void WriteRaw(ReadOnlySpan<byte> bytes)
        {
            _body.Write(bytes);
            _unsent = true;
        }

        /// <summary>How long the stream has been silent: since the last flush that sent something.</summary>
        public TimeSpan Silent => Stopwatch.GetElapsedTime(_lastSent);

        public async Task FlushAsync()
        {
            if (!_unsent)
            {
                return;
            }
            await _body.FlushAsync(aborted);
            _unsent = false;
            _lastSent = Stopwatch.GetTimestamp();
        }
    }
}

/// <summary>How a <see cref="ChatEventStream"/> writes a reply's events: this API's own, or those of /v1/responses.</summary>
public abstract class ReplyStreamFormat
{
    /// <summary>What the stream opens with.</summary>
    public abstract void WriteStart(ChatEventStream.EventWriter writer);

    public abstract void Write(ChatEventStream.EventWriter writer, ReplyEvent item);

    /// <summary>A failure while following the reply (the database went away), as the client may see it.</summary>
    public abstract void WriteFailure(ChatEventStream.EventWriter writer, ProblemDetails problem);
}
