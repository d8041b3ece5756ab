namespace ChatBackend.ApiService.Apis;

/// <summary>A validated cancel: whose turn, in which conversation, for which message.</summary>
public sealed record CancelRequest(long UserId, string ConversationId, string MessageId);

/// <summary>The fields of POST /chat-message/cancel, from JSON, a form or the query string.</summary>
public sealed class CancelInput
{
    private static readonly string[] Fields =
        [FieldNames.UserId, FieldNames.ConversationId, FieldNames.MessageId];

    private readonly RequestFields _fields;

    private CancelInput(RequestFields fields) => _fields = fields;

    public static async ValueTask<CancelInput> BindAsync(HttpContext context) => new(await RequestFields.ReadAsync(context, Fields));

    /// <summary>The user_id the request names, if any.</summary>
    public string? RequestedUserId => _fields.RequestedUserId;

    public bool TryValidate(Caller caller, out CancelRequest request, out Dictionary<string, string[]> errors)
    {
        request = null!;
        errors = _fields.InitialErrors();
        if (errors.ContainsKey(RequestFields.BodyField))
        {
            return false;
        }
        var userId = _fields.RequireUserId(caller, errors);
        var messageId = _fields.OptionalMessageId(errors);
        if (messageId is null && !errors.ContainsKey(FieldNames.MessageId))
        {
            errors[FieldNames.MessageId] = ["The message_id field is required: it names the message whose reply to stop."];
        }
        var conversationId = _fields[FieldNames.ConversationId]?.Trim();
        if (string.IsNullOrEmpty(conversationId) && !errors.ContainsKey(FieldNames.ConversationId))
        {
            errors[FieldNames.ConversationId] = ["The conversation_id field is required."];
        }
        if (errors.Count > 0)
        {
            return false;
        }
        request = new CancelRequest(userId, conversationId!, messageId!);
        return true;
    }
}
