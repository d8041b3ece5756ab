using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using MySqlConnector;

namespace ChatBackend.ApiService.Extensions;

/// <summary>
/// Turns an unreachable database into 503 and anything else unexpected into a bare 500, both as problem details:
/// no exception text, SQL or connection string reaches the client.
/// </summary>
public sealed partial class DatabaseUnavailableHandler(
    IProblemDetailsService problemDetails, ILogger<DatabaseUnavailableHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var unavailable = IsDatabaseUnavailable(exception);
        if (unavailable)
        {
            LogDatabaseUnavailable(context.Request.Path, exception.GetType().Name, (exception as MySqlException)?.Number ?? 0);
            context.Response.Headers.RetryAfter = "5";
        }
        else
        {
            LogUnexpected(exception, context.Request.Path);
        }

        context.Response.StatusCode = unavailable ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = unavailable
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
                },
        });
    }

    // Connection-level failures (refused, dropped, timed out, pool exhausted, server shutting down) and a schema
    // that is not there yet (the migrator has not run) are the database being unavailable. A server error about
    // the SQL itself is a bug and stays a 500.
    public static bool IsDatabaseUnavailable(Exception exception) => exception switch
    {
        MySqlException mysql => mysql.IsTransient
            || mysql.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.ServerShutdown
                or MySqlErrorCode.CommandTimeoutExpired or MySqlErrorCode.NoSuchTable or MySqlErrorCode.UnknownDatabase
                or MySqlErrorCode.ConnectionCountError or MySqlErrorCode.AccessDenied
            || mysql.Number is 0 or >= 2000
            || mysql.InnerException is IOException or System.Net.Sockets.SocketException,
        TimeoutException => true,
        _ => exception.InnerException is { } inner && IsDatabaseUnavailable(inner),
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "The database is unavailable while serving {Path}: {ExceptionType} {ErrorNumber}.")]
    private partial void LogDatabaseUnavailable(string path, string exceptionType, int errorNumber);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure while serving {Path}.")]
    private partial void LogUnexpected(Exception exception, string path);
}
