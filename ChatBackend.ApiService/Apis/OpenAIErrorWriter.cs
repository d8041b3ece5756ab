using Microsoft.AspNetCore.Http.Json;
using ProblemDetails = Microsoft.AspNetCore.Mvc.ProblemDetails;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Every error under <c>/v1</c> in OpenAI's shape, which its SDKs parse: <c>{"error": {"message", "type", "param",
/// "code"}}</c>, with the status, Retry-After and 401 reason the problem had (<see cref="Problems.Customize"/>). The
/// endpoints answer problems as the native ones do; this writer, first of the writers, turns them into that shape
/// (validation errors, the turn's refusals, an unreachable database, an unmatched route alike).
/// </summary>
public sealed class OpenAIErrorWriter(IOptions<ProblemDetailsOptions> problemOptions, IOptions<JsonOptions> jsonOptions)
    : IProblemDetailsWriter
{
    public const string PathPrefix = "/v1";

    public bool CanWrite(ProblemDetailsContext context) => IsOpenAIPath(context.HttpContext.Request.Path);

    public static bool IsOpenAIPath(PathString path) => path.StartsWithSegments(PathPrefix, StringComparison.Ordinal);

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        problemOptions.Value.CustomizeProblemDetails?.Invoke(context);
        var body = new OpenAIErrorBody(ErrorOf(problem));
        var options = jsonOptions.Value.SerializerOptions;
        return new ValueTask(http.Response.WriteAsJsonAsync(body, options.GetTypeInfo(typeof(OpenAIErrorBody)), contentType: "application/json"));
    }

    /// <summary>The OpenAI error a problem is: the first field's error when it names fields, else its detail or title.</summary>
    public static OpenAIError ErrorOf(ProblemDetails problem)
    {
        var status = problem.Status ?? StatusCodes.Status500InternalServerError;
        if (problem is HttpValidationProblemDetails { Errors.Count: > 0 } validation)
        {
            var (name, messages) = validation.Errors.First();
            return new OpenAIError(string.Join(" ", messages), "invalid_request_error", name, "invalid_value");
        }
        var message = problem.Detail ?? problem.Title ?? ReasonPhrases.GetReasonPhrase(status);
        var param = problem.Extensions.TryGetValue("field", out var field) ? field as string : null;
        return status switch
        {
            StatusCodes.Status401Unauthorized => new(message, "invalid_request_error", null, "invalid_api_key"),
            StatusCodes.Status403Forbidden => new(message, "permission_error", param, null),
            StatusCodes.Status404NotFound => new(message, "invalid_request_error", param, "not_found"),
            StatusCodes.Status409Conflict => new(message, "invalid_request_error", param, "conflict"),
            StatusCodes.Status429TooManyRequests => new(message, "rate_limit_error", null,
                problem.Type == Problems.QuotaUsedUpType ? "insufficient_quota" : "rate_limit_exceeded"),
            >= 500 => new(message, "server_error", null, status switch
            {
                StatusCodes.Status502BadGateway => "model_error",
                StatusCodes.Status503ServiceUnavailable => "service_unavailable",
                StatusCodes.Status504GatewayTimeout => "timeout",
                _ => "server_error",
            }),
            _ => new(message, "invalid_request_error", param, null),
        };
    }
}
