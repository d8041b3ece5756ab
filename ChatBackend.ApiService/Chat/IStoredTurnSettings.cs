namespace ChatBackend.ApiService.Chat;

/// <summary>
/// The settings a turn was begun with, read back from where its surface stored them: what another instance needs to
/// take the turn over as it was asked (a response's model, instructions, tools...). Null for a turn that had none.
/// </summary>
public interface IStoredTurnSettings
{
    Task<TurnSettings?> FindAsync(long userId, string conversationId, string messageId, CancellationToken cancellationToken);
}
