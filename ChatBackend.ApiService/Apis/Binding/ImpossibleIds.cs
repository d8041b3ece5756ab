using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A conversation_id or message_id in the path that no row can have (ids are ASCII, and no longer than their columns)
/// answers 404 at once: it is not looked for, and the database is not asked to compare it with an ASCII column. On
/// the routes with such an id only: a filter costs every request it is on.
/// </summary>
public static class ImpossibleIds
{
    public static ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var route = context.HttpContext.Request.RouteValues;
        if (route.TryGetValue(FieldNames.ConversationId, out var conversationId)
            && conversationId is string conversation && !Ids.IsConversationId(conversation))
        {
            return ValueTask.FromResult<object?>(Problems.ConversationNotFound());
        }
        if (route.TryGetValue(FieldNames.MessageId, out var messageId)
            && messageId is string message && !Ids.IsMessageId(message))
        {
            return ValueTask.FromResult<object?>(Problems.MessageNotFound());
        }
        return next(context);
    }
}
