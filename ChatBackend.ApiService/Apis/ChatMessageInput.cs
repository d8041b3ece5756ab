using System.Globalization;
using System.Text.RegularExpressions;
using ChatBackend.ApiService.Chat;

namespace ChatBackend.ApiService.Apis;

/// <summary>The fields of POST /chat-message and POST /chat-message/stream, from JSON, a form or the query string.</summary>
public sealed partial class ChatMessageInput
{
    public const string MessageField = "message";
    public const string UserIdField = "user_id";
    public const string MessageIdField = "message_id";
    public const string MessageCountField = "message_count";
    public const string ConversationIdField = "conversation_id";

    private static readonly string[] Fields = [MessageField, UserIdField, MessageIdField, MessageCountField, ConversationIdField];

    private readonly RequestFields _fields;

    private ChatMessageInput(RequestFields fields) => _fields = fields;

    public static ChatMessageInput From(IEnumerable<KeyValuePair<string, string?>> values) => new(RequestFields.From(Fields, values));

    public static async ValueTask<ChatMessageInput> BindAsync(HttpContext context) => new(await RequestFields.ReadAsync(context, Fields));

    public static bool IsMessageId(string value) => MessageIdPattern().IsMatch(value);

    public bool TryValidate(int maxMessageLength, out TurnRequest request, out Dictionary<string, string[]> errors)
    {
        request = null!;
        errors = _fields.InitialErrors();
        if (errors.ContainsKey(RequestFields.BodyField))
        {
            return false;
        }

        var message = _fields[MessageField];
        if (!errors.ContainsKey(MessageField))
        {
            if (string.IsNullOrWhiteSpace(message))
            {
                errors[MessageField] = ["The message field is required and must not be blank."];
            }
            else if (message.Length > maxMessageLength)
            {
                errors[MessageField] = [$"The message field must be at most {maxMessageLength} characters long."];
            }
        }

        var userId = _fields.RequireUserId(errors);
        var messageId = _fields.OptionalMessageId(errors);

        var messageCount = _fields[MessageCountField];
        if (!errors.ContainsKey(MessageCountField) && !string.IsNullOrEmpty(messageCount)
            && !int.TryParse(messageCount, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            errors[MessageCountField] = ["The message_count field must be a whole number when it is given."];
        }

        if (errors.Count > 0)
        {
            return false;
        }

        var conversationId = _fields[ConversationIdField];
        request = new TurnRequest(
            message!,
            userId,
            messageId,
            string.IsNullOrWhiteSpace(conversationId) ? null : conversationId.Trim());
        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex MessageIdPattern();
}
