namespace ChatBackend.ApiService.Model;

/// <summary>
/// What the model provider's HTTP attempts in one turn came to, so that a turn whose time ran out can tell a
/// provider that was still being waited on (504) from one that kept failing (502). It flows with the turn's calls
/// down to the model client's handler, which records each attempt.
/// </summary>
public sealed class ProviderAttempts
{
    private static readonly AsyncLocal<ProviderAttempts?> CurrentTurn = new();

    private volatile bool _waiting;
    private volatile string? _lastFailure;

    /// <summary>The attempts of the turn whose calls are running here, if any.</summary>
    public static ProviderAttempts? Current => CurrentTurn.Value;

    /// <summary>Starts recording the attempts of the calling turn.</summary>
    public static ProviderAttempts Begin() => CurrentTurn.Value = new ProviderAttempts();

    /// <summary>Why the last attempt failed, when it failed and no other has been under way since.</summary>
    public string? FailureNotRetried => _waiting ? null : _lastFailure;

    public void Started() => _waiting = true;

    /// <summary>An attempt ended: <paramref name="failure"/> says how it failed, or is null when the provider answered.</summary>
    public void Ended(string? failure)
    {
        _lastFailure = failure;
        _waiting = false;
    }
}
