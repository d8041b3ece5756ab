using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Responses asked not to be stored (<c>store: false</c>): each leaves nothing once its turn ends, its conversation too
/// when the response began it (one it continued stays, even empty); whichever
/// instance runs the turn, the one it began on or one that took it over.
/// </summary>
public sealed partial class TemporaryResponses(ResponseQueries responses, ILogger<TemporaryResponses> logger)
{
    public void ForgetWhenEnded(TurnRun run, string responseId, long userId) =>
        _ = run.Completion.ContinueWith(async _ =>
        {
            try
            {
                await responses.DeleteAsync(responseId, userId, forgetting: true, CancellationToken.None);
            }
            catch (Exception exception)
            {
                LogNotForgotten(responseId, exception.GetType().Name);
            }
        }, TaskScheduler.Default).Unwrap();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response {ResponseId} was asked not to be stored, but deleting it failed: {ExceptionType}.")]
    private partial void LogNotForgotten(string responseId, string exceptionType);
}
