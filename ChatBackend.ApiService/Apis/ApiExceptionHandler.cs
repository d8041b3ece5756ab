using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Diagnostics;
using MySqlConnector;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Turns an unreachable database into 503, a refused request (a body too large) into its 4xx, and anything else
/// unexpected into a bare 500, all as problem details (<see cref="Problems.ForException"/>): no exception text, SQL or
/// connection string reaches the client.
/// </summary>
public sealed partial class ApiExceptionHandler(
    IProblemDetailsService problemDetails, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = Problems.ForException(exception);
        if (ChatDatabase.IsUnavailable(exception))
        {
            LogDatabaseUnavailable(context.Request.Path, exception.GetType().Name, (exception as MySqlException)?.Number ?? 0);
            context.Response.Headers.RetryAfter = Problems.DatabaseRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (exception is not BadHttpRequestException)
        {
            LogUnexpected(exception, context.Request.Path);
        }

        context.Response.StatusCode = problem.Status!.Value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The database is unavailable while serving {Path}: {ExceptionType} {ErrorNumber}.")]
    private partial void LogDatabaseUnavailable(string path, string exceptionType, int errorNumber);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure while serving {Path}.")]
    private partial void LogUnexpected(Exception exception, string path);
}
