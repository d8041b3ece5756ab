namespace ChatBackend.ApiService.Data;

/// <summary>
/// A token for database calls that follows another token without letting the driver's cancel throw into whoever
/// cancels that one. MySqlConnector cancels a command from the token's callback (KILL QUERY on another connection),
/// and that can throw (its session's socket already gone: mysql-net/MySqlConnector#871); a token cancelled by a timer
/// (<c>CancelAfter</c>) would then throw on the timer's thread, which ends the process. Here the throw ends in this
/// callback: the command ends with its connection anyway.
/// </summary>
public sealed class DatabaseCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly CancellationTokenRegistration _following;

    public DatabaseCancellation(CancellationToken followed) =>
        _following = followed.UnsafeRegister(static state => ((DatabaseCancellation)state!).Cancel(), this);

    public CancellationToken Token => _source.Token;

    private void Cancel()
    {
        try
        {
            _source.Cancel();
        }
        catch (AggregateException)
        {
            // A cancel callback failed; see the summary.
        }
        catch (ObjectDisposedException)
        {
            // The call ended as the cancel came.
        }
    }

    public void Dispose()
    {
        _following.Dispose();
        _source.Dispose();
    }
}
