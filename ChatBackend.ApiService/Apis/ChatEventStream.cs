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
/// A reply as server-sent events: <c>start</c>, a <c>delta</c> per piece as the model produces it, each with an id
/// to resume from, then <c>done</c> (or <c>error</c>, or <c>resume</c>). A client that goes away stops only the
/// sending: the turn runs on and stores its reply.
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

    private readonly string _conversationId;
    private readonly string _messageId;
    private readonly IAsyncEnumerable<ReplyEvent> _events;
    private readonly TimeSpan _heartbeat;

    /// <summary>Streams the reply to a message as <paramref name="events"/> follow it.</summary>
    public ChatEventStream(string conversationId, string messageId, IAsyncEnumerable<ReplyEvent> events, TimeSpan heartbeat)
    {
        _conversationId = conversationId;
        _messageId = messageId;
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
            await writer.WriteAsync("start", new StreamStart(_conversationId, _messageId), id: null);
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
        Task<bool>? next = null;
        try
        {
            while (true)
            {
                next ??= events.MoveNextAsync().AsTask();
                var quiet = Task.Delay(_heartbeat, aborted);
                if (await Task.WhenAny(next, quiet) == quiet)
                {
                    aborted.ThrowIfCancellationRequested();
                    await writer.WriteRawAsync(KeepAlive);
                    continue;
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
                    await writer.WriteAsync("error", Problems.ForException(exception), id: null);
                    return;
                }
                next = null;
                if (!more)
                {
                    return;
                }
                await WriteAsync(writer, events.Current);
            }
        }
        finally
        {
            if (next is not null)
            {
                await next.ContinueWith(static _ => { }, TaskScheduler.Default);
            }
            await events.DisposeAsync();
        }
    }

    private static Task WriteAsync(EventWriter writer, ReplyEvent item)
    {
        var id = item.Position.ToString();
        return item switch
        {
            ReplyEvent.Delta(var text, _) => writer.WriteAsync("delta", new StreamDelta(text), id),
            ReplyEvent.Restarted(var position) => writer.WriteAsync("restart", new StreamRestart(position.Attempt), id),
            ReplyEvent.Ended(TurnOutcome.Answered(var answered), _) =>
                writer.WriteAsync("done", StreamDone.From(ChatMessageResponse.From(answered)), id),
            ReplyEvent.Ended(TurnOutcome.ServerStopping(var conversationId, var messageId), _) =>
                writer.WriteAsync("resume", new StreamResume(conversationId, messageId, StreamResume.ServerStopping,
                    "This server is shutting down; the reply so far is stored. Send the message again with the same " +
                    "conversation_id and message_id for the whole reply."), id),
            ReplyEvent.Ended(TurnOutcome.TakenOver(var conversationId, var messageId), _) =>
                writer.WriteAsync("resume", new StreamResume(conversationId, messageId, StreamResume.TakenOver,
                    "Another server took this reply over; resume it with Last-Event-ID at " +
                    $"/conversations/{conversationId}/messages/{messageId}/stream."), id),
            ReplyEvent.Ended(var outcome, _) => writer.WriteAsync("error", Problems.For(outcome).ProblemDetails, id),
            _ => throw new InvalidOperationException($"Unknown reply event {item.GetType().Name}."),
        };
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), [ContentType]));

    [LoggerMessage(Level = LogLevel.Error, Message = "The reply stream of conversation {ConversationId} failed: {ExceptionType}.")]
    private static partial void LogStreamFailed(ILogger logger, string conversationId, string exceptionType);

    // Writes events in the text/event-stream format. The data is one line of JSON: JSON text never holds a raw line break.
    private sealed class EventWriter(HttpResponse response, JsonSerializerOptions json, CancellationToken aborted)
    {
        public async Task WriteAsync<T>(string eventName, T data, string? id)
        {
            var text = id is null
                ? $"event: {eventName}\ndata: {JsonSerializer.Serialize(data, json)}\n\n"
                : $"id: {id}\nevent: {eventName}\ndata: {JsonSerializer.Serialize(data, json)}\n\n";
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), aborted);
            await response.Body.FlushAsync(aborted);
        }

        public async Task WriteRawAsync(byte[] bytes)
        {
            await response.Body.WriteAsync(bytes, aborted);
            await response.Body.FlushAsync(aborted);
        }
    }
}
