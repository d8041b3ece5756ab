using System.Globalization;
using System.Text.RegularExpressions;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Tools;

namespace ChatBackend.ApiService.Apis;

/// <summary>The fields of POST /chat-message and POST /chat-message/stream, from JSON, a form or the query string.</summary>
public sealed partial class ChatMessageInput
{
    private static readonly string[] Fields =
        [
            FieldNames.Message, FieldNames.UserId, FieldNames.MessageId, FieldNames.MessageCount, FieldNames.ConversationId,
            FieldNames.Model, FieldNames.Follows, FieldNames.Tools,
        ];

    private readonly RequestFields _fields;
    private readonly string[] _idempotencyKeys;

    private ChatMessageInput(RequestFields fields, string[] idempotencyKeys)
    {
        _fields = fields;
        _idempotencyKeys = idempotencyKeys;
    }

    public static ChatMessageInput From(IEnumerable<KeyValuePair<string, string?>> values, params string[] idempotencyKeys) =>
        new(RequestFields.From(Fields, values), idempotencyKeys);

    public static async ValueTask<ChatMessageInput> BindAsync(HttpContext context) => new(
        await RequestFields.ReadAsync(context, Fields),
        context.Request.Headers.TryGetValue(FieldNames.IdempotencyKeyHeader, out var keys) ? [.. keys.Select(key => key ?? "")] : []);

    public static bool IsMessageId(string value) => MessageIdPattern().IsMatch(value);

    /// <summary>The user_id the request names, if any.</summary>
    public string? RequestedUserId => _fields.RequestedUserId;

    public bool TryValidate(
        Caller caller, int maxMessageLength, ModelCatalog models, out TurnRequest request, out Dictionary<string, string[]> errors,
        ToolOptions? tools = null)
    {
        request = null!;
        errors = _fields.InitialErrors();
        if (errors.ContainsKey(RequestFields.BodyField))
        {
            return false;
        }

        var message = _fields[FieldNames.Message];
        if (!errors.ContainsKey(FieldNames.Message))
        {
            if (string.IsNullOrWhiteSpace(message))
            {
                errors[FieldNames.Message] = ["The message field is required and must not be blank."];
            }
            else if (message.Length > maxMessageLength)
            {
                errors[FieldNames.Message] = [$"The message field must be at most {maxMessageLength} characters long."];
            }
        }

        var userId = _fields.RequireUserId(caller, errors);
        var messageId = _fields.OptionalMessageId(errors);
        var follows = _fields.OptionalMessageId(errors, FieldNames.Follows);
        var conversationId = _fields[FieldNames.ConversationId];
        if (follows is not null && string.IsNullOrWhiteSpace(conversationId))
        {
            errors[FieldNames.Follows] = ["The follows field names a message of the conversation that conversation_id names; give both."];
        }

        var messageCount = _fields[FieldNames.MessageCount];
        if (!errors.ContainsKey(FieldNames.MessageCount) && !string.IsNullOrEmpty(messageCount)
            && !int.TryParse(messageCount, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            errors[FieldNames.MessageCount] = ["The message_count field must be a whole number when it is given."];
        }

        var idempotencyKey = IdempotencyKey(errors);

        var model = _fields[FieldNames.Model];
        if (!errors.ContainsKey(FieldNames.Model) && !string.IsNullOrEmpty(model) && !models.Allows(model))
        {
            errors[FieldNames.Model] = [models.NotOffered(model)];
        }

        var servers = tools is null || errors.ContainsKey(FieldNames.Tools)
            ? null
            : McpToolInput.ReadLabels(_fields[FieldNames.Tools], tools, errors, FieldNames.Tools);

        if (errors.Count > 0)
        {
            return false;
        }

        request = new TurnRequest(
            message!,
            userId,
            messageId,
            string.IsNullOrWhiteSpace(conversationId) ? null : conversationId.Trim(),
            IdempotencyKey: idempotencyKey,
            Settings: string.IsNullOrEmpty(model) && servers is null ? null : new TurnSettings(Model: NullIfEmpty(model), Mcp: servers),
            Follows: follows is null ? null : new BranchPoint(follows, BranchMode.ByRole),
            KeyToCheck: caller.UncheckedKey);
        return true;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    // One key of 1 to 255 printable ASCII characters, as the draft's quoted string or bare (as most clients send it).
    private string? IdempotencyKey(Dictionary<string, string[]> errors)
    {
        if (_idempotencyKeys is [])
        {
            return null;
        }
        // A comma outside quotes is a list of keys (several headers arrive as one line joined by commas).
        var key = _idempotencyKeys is [var only] ? only.Trim() : null;
        if (key is ['"', .. var quoted, '"'])
        {
            key = quoted;
        }
        else if (key?.Contains(',') == true)
        {
            key = null;
        }
        if (key is null || !IdempotencyKeyPattern().IsMatch(key))
        {
            errors[FieldNames.IdempotencyKeyHeader] =
                ["The Idempotency-Key header must be one key of 1 to 255 printable ASCII characters, quoted or not (a comma only in quotes)."];
            return null;
        }
        return key;
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex MessageIdPattern();

    [GeneratedRegex("^[!-~]([ -~]{0,253}[!-~])?$")]
    private static partial Regex IdempotencyKeyPattern();
}
