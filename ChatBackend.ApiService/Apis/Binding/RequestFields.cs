using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A request's fields, gathered from the query string (as the original's clients send them), then overlaid by a JSON
/// or form body (as its README documents). Only the named fields are read; validation belongs to the caller, so that
/// every field's problem is reported at once.
/// </summary>
public sealed class RequestFields
{
    public const string BodyField = "body";

    private readonly string[] _fields;
    private readonly Dictionary<string, string?> _values = [];
    private readonly Dictionary<string, string> _typeErrors = [];

    private RequestFields(string[] fields) => _fields = fields;

    /// <summary>Why the body could not be read at all, if it could not.</summary>
    public string? BodyError { get; private set; }

    /// <summary>Fields that came as something other than a string or a number.</summary>
    public IReadOnlyDictionary<string, string> TypeErrors => _typeErrors;

    public static RequestFields From(string[] fields, IEnumerable<KeyValuePair<string, string?>> values)
    {
        var input = new RequestFields(fields);
        foreach (var (key, value) in values)
        {
            input._values[key] = value;
        }
        return input;
    }

    public static async ValueTask<RequestFields> ReadAsync(HttpContext context, string[] fields)
    {
        var input = new RequestFields(fields);
        var request = context.Request;
        foreach (var field in fields)
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
            foreach (var field in fields)
            {
                if (form.TryGetValue(field, out var value))
                {
                    input._values[field] = value.ToString();
                }
            }
        }
        return input;
    }

    /// <summary>
    /// The fields of a request made by its user (a rename, feedback): another user's user_id is refused with a 403 and
    /// an unreadable body with a 400; otherwise the user, and the errors so far for the request's own rules to add to.
    /// </summary>
    public static async ValueTask<(RequestFields Fields, long UserId, Dictionary<string, string[]> Errors, ProblemHttpResult? Refused)>
        ReadForUserAsync(HttpContext context, Caller caller, string[] fields)
    {
        var input = await ReadAsync(context, fields);
        if (caller.IsOtherUser(input.RequestedUserId))
        {
            return (input, 0, [], Problems.OtherUser());
        }
        var errors = input.InitialErrors();
        if (errors.ContainsKey(BodyField))
        {
            return (input, 0, errors, Problems.Invalid(errors));
        }
        return (input, input.RequireUserId(caller, errors), errors, null);
    }

    public string? this[string field] => _values.GetValueOrDefault(field);

    /// <summary>The errors every request has before its own rules: an unreadable body, or fields of the wrong type.</summary>
    public Dictionary<string, string[]> InitialErrors()
    {
        if (BodyError is not null)
        {
            return new() { [BodyField] = [BodyError] };
        }
        return _typeErrors.ToDictionary(error => error.Key, error => new[] { error.Value });
    }

    /// <summary>The request's user: the token's, or a required user_id (a whole number of at least 1).</summary>
    public long RequireUserId(Caller caller, Dictionary<string, string[]> errors) =>
        errors.ContainsKey(FieldNames.UserId) ? 0 : caller.RequireUserId(this[FieldNames.UserId], errors) ?? 0;

    /// <summary>The user_id the request names, if any (with a token, another user's is a 403).</summary>
    public string? RequestedUserId => this[FieldNames.UserId];

    /// <summary>A message_id, when given: 1 to 64 characters of [A-Za-z0-9._:-]. Empty counts as absent.</summary>
    public string? OptionalMessageId(Dictionary<string, string[]> errors, string field = FieldNames.MessageId)
    {
        var messageId = this[field];
        if (errors.ContainsKey(field) || string.IsNullOrEmpty(messageId))
        {
            return null;
        }
        if (!ChatMessageInput.IsMessageId(messageId))
        {
            errors[field] = [$"The {field} field must be 1 to 64 characters of letters, digits, '.', '_', ':' or '-'."];
            return null;
        }
        return messageId;
    }

    private async Task ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                BodyError = "The request body must be a JSON object.";
                return;
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (Array.IndexOf(_fields, property.Name) < 0)
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
            BodyError = "The request body is not valid JSON.";
        }
    }
}
