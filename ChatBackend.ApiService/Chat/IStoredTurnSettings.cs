namespace ChatBackend.ApiService.Chat;

/// <summary>
/// The settings a turn was begun with, read back from where its surface stored them: what another instance needs to
/// take the turn over as it was asked (a response's model, instructions, tools...). Null for a turn that had none.
/// </summary>
public interface IStoredTurnSettings
{
    Task<StoredTurn?> FindAsync(long userId, string conversationId, string messageId, CancellationToken cancellationToken);
}

/// <summary>A turn's settings as stored, and whether it was not to be kept once it ended (a response's <c>store: false</c>).</summary>
public sealed record StoredTurn(TurnSettings Settings, bool Temporary);
