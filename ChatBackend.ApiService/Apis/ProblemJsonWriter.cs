using System.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Writes problem details as application/problem+json whatever the request's Accept header says. ASP.NET Core's own
/// writer declines a request that accepts no JSON (an EventSource's <c>Accept: text/event-stream</c>), and the
/// status-code pages then answer text/plain; this one comes after it and takes those requests, so every error of every
/// endpoint is problem details, its Retry-After and 401 reason included (<see cref="Problems.Customize"/>).
/// </summary>
public sealed class ProblemJsonWriter(IOptions<ProblemDetailsOptions> problemOptions, IOptions<JsonOptions> jsonOptions)
    : IProblemDetailsWriter
{
    private const string ContentType = "application/problem+json";

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        // What the framework's writer fills in when a problem leaves them out.
        problem.Status ??= http.Response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        problem.Extensions.TryAdd("traceId", Activity.Current?.Id ?? http.TraceIdentifier);
        problemOptions.Value.CustomizeProblemDetails?.Invoke(context);
        var options = jsonOptions.Value.SerializerOptions;
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, options.GetTypeInfo(problem.GetType()), ContentType));
    }
}
