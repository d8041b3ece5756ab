using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChatBackend.ApiService.Apis;

/// <summary>A validated send: what the write path works with.</summary>
public sealed record ChatMessageRequest(string Message, long UserId, string? MessageId, string? ConversationId);

/// <summary>
/// The raw fields of POST /chat-message, gathered from the query string (as the original's clients send them),
/// then overlaid by a JSON or form body (as its README documents). Validation is separate so that every field's
/// problem is reported at once and handlers can be called without HTTP.
/// </summary>
public sealed partial class ChatMessageInput
{
    public const string MessageField = "message";
    public const string UserIdField = "user_id";
    public const string MessageIdField = "message_id";
    public const string MessageCountField = "message_count";
    public const string ConversationIdField = "conversation_id";
    public const string BodyField = "body";

    private static readonly string[] Fields = [MessageField, UserIdField, MessageIdField, MessageCountField, ConversationIdField];

    private readonly Dictionary<string, string?> _values = [];
    private readonly Dictionary<string, string> _typeErrors = [];
    private string? _bodyError;

    public static ChatMessageInput From(IEnumerable<KeyValuePair<string, string?>> values)
    {
        var input = new ChatMessageInput();
        foreach (var (key, value) in values)
        {
            input._values[key] = value;
        }
        return input;
    }

    public static async ValueTask<ChatMessageInput> BindAsync(HttpContext context)
    {
        var input = new ChatMessageInput();
        var request = context.Request;
        foreach (var field in Fields)
        {
            if (request.Query.TryGetValue(field, out var value))
            {
                input._values[field] = value.ToString();
            }
        }

        if (request.ContentLength == 0)
        {
            return input;
        }
        if (request.HasJsonContentType())
        {
            await input.ReadJsonAsync(request, context.RequestAborted);
        }
        else if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(context.RequestAborted);
            foreach (var field in Fields)
            {
                if (form.TryGetValue(field, out var value))
                {
                    input._values[field] = value.ToString();
                }
            }
        }
        return input;
    }

    private async Task ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                _bodyError = "The request body must be a JSON object.";
                return;
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (Array.IndexOf(Fields, property.Name) < 0)
                {
                    continue;
                }
                switch (property.Value.ValueKind)
                {
                    case JsonValueKind.String:
                        _values[property.Name] = property.Value.GetString();
                        break;
                    case JsonValueKind.Number:
                        _values[property.Name] = property.Value.GetRawText();
                        break;
                    case JsonValueKind.Null:
                        _values[property.Name] = null;
                        break;
                    default:
                        _typeErrors[property.Name] = $"The {property.Name} field must be a string or a number.";
                        break;
                }
            }
        }
        catch (JsonException)
        {
            _bodyError = "The request body is not valid JSON.";
        }
    }

    public bool TryValidate(int maxMessageLength, out ChatMessageRequest request, out Dictionary<string, string[]> errors)
    {
        errors = [];
        request = null!;
        if (_bodyError is not null)
        {
            errors[BodyField] = [_bodyError];
            return false;
        }
        foreach (var (field, error) in _typeErrors)
        {
            errors[field] = [error];
        }

        var message = Value(MessageField);
        if (!_typeErrors.ContainsKey(MessageField))
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

        long userId = 0;
        if (!_typeErrors.ContainsKey(UserIdField))
        {
            var raw = Value(UserIdField);
            if (string.IsNullOrWhiteSpace(raw))
            {
                errors[UserIdField] = ["The user_id field is required."];
            }
            else if (!long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out userId) || userId < 1)
            {
                errors[UserIdField] = ["The user_id field must be a whole number of at least 1."];
            }
        }

        var messageId = Value(MessageIdField);
        if (!_typeErrors.ContainsKey(MessageIdField) && !string.IsNullOrEmpty(messageId) && !MessageIdPattern().IsMatch(messageId))
        {
            errors[MessageIdField] = ["The message_id field must be 1 to 64 characters of letters, digits, '.', '_', ':' or '-'."];
        }

        var messageCount = Value(MessageCountField);
        if (!_typeErrors.ContainsKey(MessageCountField) && !string.IsNullOrEmpty(messageCount)
            && !int.TryParse(messageCount, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            errors[MessageCountField] = ["The message_count field must be a whole number when it is given."];
        }

        if (errors.Count > 0)
        {
            return false;
        }

        var conversationId = Value(ConversationIdField);
        request = new ChatMessageRequest(
            message!,
            userId,
            string.IsNullOrEmpty(messageId) ? null : messageId,
            string.IsNullOrWhiteSpace(conversationId) ? null : conversationId.Trim());
        return true;
    }

    private string? Value(string field) => _values.GetValueOrDefault(field);

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex MessageIdPattern();
}
