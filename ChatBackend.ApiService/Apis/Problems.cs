using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// The one place where an outcome or an exception becomes problem details (status, title, the fields it names), for
/// every endpoint, the exception handler and the event stream alike.
/// </summary>
public static class Problems
{
    private const string StoredForRetry =
        "The message is stored; send it again with the same conversation_id and message_id to retry.";

    /// <summary>Seconds a client should wait before trying again when the database is unavailable.</summary>
    public const int DatabaseRetryAfterSeconds = 5;

    /// <summary>The problem type of a rate limit (RFC 6585 §4, 429 Too Many Requests).</summary>
    public const string RateLimitedType = "https://www.rfc-editor.org/rfc/rfc6585#section-4";

    /// <summary>The problem type of a used-up daily token quota (a tag URI, RFC 4151: ours, not a web page).</summary>
    public const string QuotaUsedUpType = "tag:chatbackend,2026:daily-token-quota";

    /// <summary>The extension of a problem that says when to try again; the response also carries it as Retry-After.</summary>
    public const string RetryAfterExtension = "retry_after";

    /// <summary>Where a bearer challenge leaves its reason for the 401's problem details.</summary>
    public static readonly object ChallengeReasonKey = new();

    /// <summary>The problem details of a turn that did not produce a reply.</summary>
    public static ProblemHttpResult For(TurnOutcome outcome) => outcome switch
    {
        TurnOutcome.ConversationNotFound => ConversationNotFound(),
        TurnOutcome.StillInProgress(var conversationId, var messageId) => Turn(
            StatusCodes.Status409Conflict, "Message is still being answered",
            "A message with this message_id is being answered now; send it again once that has finished.",
            conversationId, messageId),
        TurnOutcome.MessageIdReused(var conversationId, var messageId) => Turn(
            StatusCodes.Status409Conflict, "message_id already used",
            "This message_id was already used in this conversation for a different message.",
            conversationId, messageId),
        TurnOutcome.IdempotencyKeyReused => TypedResults.Problem(
            statusCode: StatusCodes.Status422UnprocessableEntity,
            title: "Idempotency-Key already used",
            detail: "This Idempotency-Key was used in the last 24 hours for a different request; use a new key for a new request.",
            extensions: new Dictionary<string, object?> { ["field"] = FieldNames.IdempotencyKeyHeader }),
        // As the key scheme's own refusal (the key was revoked after this instance found it; see KeyCheckedByTheTurn).
        TurnOutcome.ApiKeyNotValid => TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, detail: ApiKeyAuthenticationHandler.NotValid),
        TurnOutcome.BranchPointNotFound(var messageId) => TypedResults.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Message to follow not found",
            detail: $"The conversation has no message '{messageId}' to follow, or its turn has no answer to continue from; nothing was stored.",
            extensions: new Dictionary<string, object?> { ["field"] = FieldNames.Follows }),
        TurnOutcome.ModelFailed(var conversationId, var messageId, var reason) => Turn(
            StatusCodes.Status502BadGateway, "The model provider failed",
            $"{reason} {StoredForRetry}",
            conversationId, messageId),
        TurnOutcome.ModelTimedOut(var conversationId, var messageId) => Turn(
            StatusCodes.Status504GatewayTimeout, "The model provider timed out",
            $"The model did not answer in time. {StoredForRetry}",
            conversationId, messageId),
        TurnOutcome.ServerStopping(var conversationId, var messageId) => Turn(
            StatusCodes.Status503ServiceUnavailable, "The server is shutting down",
            $"The server stopped before the model answered. {StoredForRetry}",
            conversationId, messageId),
        TurnOutcome.Cancelled(var conversationId, var messageId, _, _) => Turn(
            StatusCodes.Status409Conflict, "The reply was cancelled",
            "The reply was stopped by a cancel; what was generated is stored with status Cancelled. Send the message " +
            "again with the same message_id for a new reply.",
            conversationId, messageId),
        TurnOutcome.TakenOver(var conversationId, var messageId) => Turn(
            StatusCodes.Status409Conflict, "The reply is generated elsewhere",
            "Another server took this turn over after this one fell silent; send it again with the same ids for its reply.",
            conversationId, messageId),
        RateLimited(RateLimit.SendsPerMinute, var allowed, var retryAfter) => TooMany(
            RateLimitedType,
            "Too many sends",
            $"This user may start {allowed} sends a minute (RateLimits:SendsPerMinute); nothing was stored. Try again after Retry-After.",
            retryAfter),
        RateLimited(RateLimit.ConcurrentTurns, var allowed, var retryAfter) => TooMany(
            RateLimitedType,
            "Too many replies at once",
            $"This user may have {allowed} replies generated at once (RateLimits:ConcurrentTurnsPerUser); nothing was stored. Try again when one has finished.",
            retryAfter),
        MessageTooLong(var tokens, var systemPromptTokens, var budget) => Invalid(new()
        {
            [FieldNames.Message] =
            [
                $"The message is {tokens} tokens long; with the system prompt ({systemPromptTokens} tokens) " +
                $"a request may take at most {budget} tokens (Chat:HistoryTokenBudget).",
            ],
        }),
        QuotaUsedUp(var used, var limit, var retryAfter) => TooMany(
            QuotaUsedUpType,
            "Daily token quota used up",
            $"This user's replies used {used} of {limit} tokens today (UTC; Quotas:DailyTokensPerUser); nothing was " +
            "stored and the model was not asked. The quota resets at midnight UTC (Retry-After).",
            retryAfter),
        _ => throw new InvalidOperationException($"A turn outcome with a reply has no problem: {outcome.GetType().Name}."),
    };

    /// <summary>A 400 naming each field's error, as a validation problem, where a handler answers with a problem.</summary>
    public static ProblemHttpResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors) { Status = StatusCodes.Status400BadRequest });

    /// <summary>A user_id that is not the user of the bearer token or API key.</summary>
    public static ProblemHttpResult OtherUser() => TypedResults.Problem(
        statusCode: StatusCodes.Status403Forbidden,
        title: "user_id is not the token's user",
        detail: "With a bearer token or an API key the user is its own; leave user_id out, or give its own.",
        extensions: new Dictionary<string, object?> { ["field"] = FieldNames.UserId });

    /// <summary>
    /// What every problem gets as it is written (AddProblemDetails): its Retry-After header from its extension, and a
    /// 401's reason from the bearer challenge (no token, expired, wrong issuer, audience or signature).
    /// </summary>
    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Extensions.TryGetValue(RetryAfterExtension, out var seconds) && seconds is int value)
        {
            context.HttpContext.Response.Headers.RetryAfter = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (problem.Status == StatusCodes.Status401Unauthorized)
        {
            problem.Title = "A valid bearer token is required";
            problem.Detail = context.HttpContext.Items[ChallengeReasonKey] as string
                ?? problem.Detail
                ?? "Send Authorization: Bearer with a token of the configured issuer and audience.";
            if (problem.Detail == ApiKeyAuthenticationHandler.NotValid)
            {
                context.HttpContext.Response.Headers.WWWAuthenticate = ApiKeyAuthenticationHandler.Challenge;
            }
        }
    }

    private static ProblemHttpResult TooMany(string type, string title, string detail, TimeSpan retryAfter) => TypedResults.Problem(
        statusCode: StatusCodes.Status429TooManyRequests,
        type: type,
        title: title,
        detail: detail,
        extensions: new Dictionary<string, object?> { [RetryAfterExtension] = (int)Math.Ceiling(Math.Max(1, retryAfter.TotalSeconds)) });

    /// <summary>A cancel that found the message, but no reply being generated for it.</summary>
    public static ProblemHttpResult NotRunning(string conversationId, string messageId, MessageStatus status) => Turn(
        StatusCodes.Status409Conflict, "Message is not being answered",
        $"No reply is being generated for this message here; its status is {status}.", conversationId, messageId,
        ("status", status.ToString()));

    public static ProblemHttpResult ConversationNotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Conversation not found",
        detail: "No conversation with this conversation_id exists for this user_id.",
        extensions: new Dictionary<string, object?> { ["field"] = FieldNames.ConversationId });

    public static ProblemHttpResult ApiKeyNotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "API key not found",
        detail: "No API key with this id exists for this user.",
        extensions: new Dictionary<string, object?> { ["field"] = FieldNames.Id });

    public static ProblemHttpResult TooManyApiKeys(int limit) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Too many API keys",
        detail: $"A user may hold {limit} API keys at once; revoke one to make another.");

    public static ProblemHttpResult MessageNotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Message not found",
        detail: "No message with this message_id exists in this user's conversation.",
        extensions: new Dictionary<string, object?> { ["field"] = FieldNames.MessageId });

    /// <summary>
    /// An exception as the client may see it: an unavailable database is a 503, anything else a bare 500. Never the
    /// exception's text, SQL or a connection string.
    /// </summary>
    public static ProblemDetails ForException(Exception exception) => exception switch
    {
        // The request itself was refused by the server (a body over Chat:MaxRequestBytes is a 413).
        BadHttpRequestException bad => new ProblemDetails
        {
            Status = bad.StatusCode,
            Title = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is too large" : "The request is malformed",
            Detail = bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The body is larger than this server accepts (Chat:MaxRequestBytes)."
                : null,
        },
        _ => ForFailure(exception),
    };

    private static ProblemDetails ForFailure(Exception exception) => ChatDatabase.IsUnavailable(exception)
        ? new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "The database is unavailable",
            Detail = "Nothing was lost that was acknowledged; try again shortly.",
        }
        : new ProblemDetails
        {
            Status = StatusCodes.Status500InternalServerError,
            Title = "An unexpected error occurred",
        };

    private static ProblemHttpResult Turn(
        int status, string title, string detail, string conversationId, string messageId, (string Name, object Value)? extra = null)
    {
        var extensions = new Dictionary<string, object?>
        {
            ["field"] = FieldNames.MessageId,
            ["conversation_id"] = conversationId,
            ["message_id"] = messageId,
        };
        if (extra is var (name, value))
        {
            extensions[name] = value;
        }
        return TypedResults.Problem(statusCode: status, title: title, detail: detail, extensions: extensions);
    }
}
