using System.Data;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// Sends with an Idempotency-Key (V3): the turn the key named within 24 hours, or a new turn that claims the key in
/// its own transaction, so that a key is recorded exactly when its turn is. Of two sends with one key at once, the
/// second waits on the first's claim (the key row's unique index), fails on it, and then finds it. A key costs one
/// read before the turn's transaction; the claim travels in that transaction's batch.
/// </summary>
internal static class IdempotencyKeys
{
    private const string Claim = """
        INSERT INTO idempotency_key (user_id, idem_key, fingerprint, conv_id, message_id, created_at)
        VALUES (@user, @key, @fingerprint, @key_conv, @key_mid, UTC_TIMESTAMP(6));
        """;

    // An expired key (older than 24 hours, not yet purged) gives way to the new claim.
    private const string ReplaceExpired = """
        DELETE FROM idempotency_key
        WHERE user_id = @user AND idem_key = @key AND created_at <= UTC_TIMESTAMP(6) - INTERVAL 1 DAY;
        """ + "\n" + Claim;

    public static async Task<TurnOutcome> BeginKeyedTurnAsync(
        MySqlConnection connection, TurnStore.Send send, string? conversationId, IdempotencyKey key,
        CancellationToken cancellationToken)
    {
        // Another send may claim the key first (this claim then fails on its unique key): look again.
        return await TurnStore.AgainOnDuplicateKeyAsync(connection, async () =>
        {
            var earlier = await FindAsync(connection, send, key.Key, cancellationToken);
            if (earlier is { Expired: false })
            {
                return earlier.Fingerprint.AsSpan().SequenceEqual(key.Fingerprint)
                    ? await TurnStore.ContinueConversationAsync(
                        connection, send with { MessageId = earlier.MessageId }, earlier.ConversationId, claim: null, cancellationToken)
                    : new TurnOutcome.IdempotencyKeyReused();
            }

            var target = conversationId ?? Ids.NewConversationId();
            var targeted = send.In(target);
            var claim = new TurnStore.KeyClaim(earlier is null ? Claim : ReplaceExpired, parameters =>
            {
                parameters.AddWithValue("@key", key.Key);
                parameters.AddWithValue("@fingerprint", key.Fingerprint);
                parameters.AddWithValue("@key_conv", target);
                parameters.AddWithValue("@key_mid", targeted.MessageId);
            });
            return conversationId is null
                ? await TurnStore.StartAsync(connection, targeted, target, claim, cancellationToken)
                : await TurnStore.ContinueConversationAsync(connection, targeted, conversationId, claim, cancellationToken);
        });
    }

    private static async Task<KeyedTurn?> FindAsync(
        MySqlConnection connection, TurnStore.Send send, string key, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT fingerprint, conv_id, message_id, created_at <= UTC_TIMESTAMP(6) - INTERVAL 1 DAY AS expired
            FROM idempotency_key WHERE user_id = @user AND idem_key = @key
            """;
        await using var command = new MySqlCommand(send.KeyCheck + sql, connection);
        send.AddKeyCheck(command.Parameters);
        command.Parameters.AddWithValue("@user", send.UserId);
        command.Parameters.AddWithValue("@key", key);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new KeyedTurn(
            (byte[])reader.GetValue("fingerprint"), reader.GetString("conv_id"), reader.GetString("message_id"),
            reader.GetBoolean("expired"));
    }

    private sealed record KeyedTurn(byte[] Fingerprint, string ConversationId, string MessageId, bool Expired);
}
