namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Marks a send endpoint whose turn's first transaction checks an API key in its own batch
/// (<see cref="Data.ApiKeys.CheckInBatch"/>): the key scheme may then let its request in on a key this instance found
/// within the last minute, without a round trip of its own (<see cref="ApiKeyAuthenticationHandler"/>). Such an
/// endpoint reads nothing of the user's before its turn begins unless it checks the key first
/// (<see cref="Data.ApiKeys.StillValidAsync"/>).
/// </summary>
public sealed class KeyCheckedByTheTurn
{
    public static KeyCheckedByTheTurn Instance { get; } = new();

    private KeyCheckedByTheTurn()
    {
    }
}
