using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>Small helpers that speak the API the way its clients do.</summary>
public static class ChatCalls
{
    private static int _nextUserId = Random.Shared.Next(1_000_000, 2_000_000_000);

    /// <summary>A user id no other test uses, so each test owns its data.</summary>
    public static long NewUserId() => Interlocked.Increment(ref _nextUserId);

    public static string NewMessageId() => $"t-{Guid.NewGuid():n}";

    /// <summary>The original's clients: every field in the query string, no body.</summary>
    public static Task<HttpResponseMessage> SendQueryAsync(
        this HttpClient client, string message, long userId, string messageId, string? conversationId = null, int messageCount = 1) =>
        client.PostAsync(
            $"/chat-message?message={Uri.EscapeDataString(message)}&user_id={userId}&message_id={Uri.EscapeDataString(messageId)}" +
            $"&message_count={messageCount}&conversation_id={Uri.EscapeDataString(conversationId ?? "")}",
            content: null, TestCancellation);

    public static Task<HttpResponseMessage> SendJsonAsync(
        this HttpClient client, string message, long userId, string? messageId = null, string? conversationId = null) =>
        client.PostAsJsonAsync("/chat-message", new Dictionary<string, object?>
        {
            ["message"] = message,
            ["user_id"] = userId,
            ["message_id"] = messageId,
            ["message_count"] = 1,
            ["conversation_id"] = conversationId ?? "",
        }, TestCancellation);

    public static Task<HttpResponseMessage> SendFormAsync(
        this HttpClient client, string message, long userId, string? messageId = null, string? conversationId = null) =>
        client.PostAsync("/chat-message", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["message"] = message,
            ["user_id"] = userId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["message_id"] = messageId ?? "",
            ["conversation_id"] = conversationId ?? "",
        }), TestCancellation);

    public static async Task<JsonElement> SendOkAsync(
        this HttpClient client, string message, long userId, string? conversationId = null, string? messageId = null)
    {
        using var response = await client.SendJsonAsync(message, userId, messageId ?? NewMessageId(), conversationId);
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    /// <summary>POST /chat-message/stream with a JSON body; the response as soon as its headers are in.</summary>
    public static Task<HttpResponseMessage> StreamAsync(
        this HttpClient client, string message, long userId, string messageId, string? conversationId = null) =>
        client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/chat-message/stream")
            {
                Content = JsonContent.Create(new { message, user_id = userId, message_id = messageId, conversation_id = conversationId ?? "" }),
            },
            HttpCompletionOption.ResponseHeadersRead, TestCancellation);

    public static async Task<JsonElement> HistoryAsync(this HttpClient client, string conversationId, long? userId = null)
    {
        using var response = await client.GetAsync(
            $"/get-conversation-history/{conversationId}" + (userId is null ? "" : $"?user_id={userId}"), TestCancellation);
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    private static CancellationToken TestCancellation => TestContext.Current.CancellationToken;

    public static string Str(this JsonElement element, string property) => element.GetProperty(property).GetString()!;

    public static int Int(this JsonElement element, string property) => element.GetProperty(property).GetInt32();

    /// <summary>The type of a Responses stream's event as the OpenAI SDK read it (its JSON's "type").</summary>
    public static string EventName(this OpenAI.Responses.StreamingResponseUpdate update) =>
        JsonDocument.Parse(System.ClientModel.Primitives.ModelReaderWriter.Write(update)).RootElement.Str("type");
}
