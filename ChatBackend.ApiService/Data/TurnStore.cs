using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// The SQL of a chat turn (SPEC §4): two short transactions around the model call, each one batch and one round trip,
/// and no connection held while the model thinks. This file is the first (the message stored as Pending, its reply's
/// number reserved); <c>TurnStore.End.cs</c> the second (the reply, the status, the count and the day's usage).
/// </summary>
/// <remarks>
/// The protocol, which every statement here keeps:
/// <list type="bullet">
/// <item>Lock order: the conversation row first (exclusively), then its messages, then usage_daily. Every transaction
/// that writes a conversation's messages takes its conversation's row first, so two of them queue on it instead of
/// deadlocking on their foreign-key checks; that is why a batch may open with an update that changes nothing.</item>
/// <item>message_no: a send reserves two numbers under that lock (its message and its reply); last_message_no only
/// grows, so a reply always directly follows its message.</item>
/// <item>attempt: each retake of a message adds one; only the latest attempt may end the turn (every end is
/// <c>WHERE ... Status = 'Pending' AND attempt = @attempt</c>), so an attempt that was taken over stores nothing.</item>
/// <item>parent_no (V11): only a row that begins a turn has one, and only when it does not follow the row right before
/// it (a branch); the row it follows is read under the conversation's lock, in the same batch. Reads of a conversation
/// whose <c>branched</c> is set walk its tree (<see cref="ConversationTree"/>); others read rows in number order.</item>
/// <item>message_count is never added to or taken from: every transaction that adds or removes a conversation's rows
/// sets it to their number, read under the conversation's lock in the same transaction (the end, the count before its
/// reply plus one). An increment lost or doubled once (a Galera writer killed under load left counts one off, rows
/// whole) cannot outlive the conversation's next write.</item>
/// <item>ROW_COUNT(): read only by the statement right after the one it counts, or kept in a user variable named
/// <c>@turn_…</c> by a SET right after it; no statement may be put between the two.</item>
/// <item>A send let in on an API key from memory opens each of its batches with the key's check
/// (<see cref="ApiKeys.CheckInBatch"/>), before anything is read or written: a revoked key fails the batch there.</item>
/// <item>Every result of a batch is read to its end (<see cref="UnitOfWork.ReadToEndAsync"/>): a COMMIT that fails
/// after the batch's SELECT must reach the caller.</item>
/// </list>
/// </remarks>
public sealed partial class TurnStore(MySqlDataSource dataSource)
{
    private const int DuplicateKey = 1062;

    /// <summary>
    /// Stores the user's message as Pending in a new conversation (no <paramref name="conversationId"/>) or an
    /// existing one, or finds the turn that <paramref name="messageId"/>, or <paramref name="idempotencyKey"/>, named
    /// before: <see cref="TurnOutcome.Begun"/> when the turn is the caller's to run.
    /// </summary>
    /// <remarks>
    /// A <paramref name="response"/> (a send of /v1/responses) is stored with the message it begins, whose id is then
    /// the response's (<see cref="Send.In"/>), not <paramref name="messageId"/>. A
    /// <paramref name="keyToCheck"/> (the API key the send was let in by from memory) is checked first in each batch
    /// (<see cref="ApiKeys.CheckInBatch"/>): once revoked, nothing is read or stored, <see cref="TurnOutcome.ApiKeyNotValid"/>.
    /// </remarks>
    public async Task<TurnOutcome> BeginTurnAsync(
        long userId, string? conversationId, string messageId, string message, int tokenCount, TimeSpan abandonedAfter,
        IdempotencyKey? idempotencyKey, ResponseStart? response, CancellationToken cancellationToken, MessageKind? kind = null,
        BranchPoint? follows = null, string? settings = null, long? keyToCheck = null, bool retakeOnly = false)
    {
        var send = new Send(
            userId, messageId, message, tokenCount, abandonedAfter, response, kind ?? MessageKind.User, follows, settings, keyToCheck, retakeOnly);
        try
        {
            return await dataSource.RunAsync(async connection =>
            {
                switch (idempotencyKey, conversationId)
                {
                    case ({ } key, _):
                        return await IdempotencyKeys.BeginKeyedTurnAsync(connection, send, conversationId, key, cancellationToken);
                    case (null, null):
                        return await StartConversationAsync(connection, send, cancellationToken);
                    default:
                        return await ContinueConversationAsync(connection, send.In(conversationId), conversationId, claim: null, cancellationToken);
                }
            }, cancellationToken);
        }
        catch (MySqlException exception) when (keyToCheck is not null && exception.ErrorCode == ApiKeys.RevokedInBatch)
        {
            return new TurnOutcome.ApiKeyNotValid();
        }
    }

    /// <summary>What a send stores, whichever way it begins.</summary>
    internal sealed record Send(
        long UserId, string MessageId, string Message, int TokenCount, TimeSpan AbandonedAfter, ResponseStart? Response, MessageKind Kind,
        BranchPoint? Follows, string? Settings, long? KeyToCheck, bool RetakeOnly)
    {
        /// <summary>
        /// This send into <paramref name="conversationId"/>: a response's message takes the response's id, which
        /// carries that conversation's (<see cref="Ids.NewResponseId"/>); any other keeps its id.
        /// </summary>
        public Send In(string conversationId) => Response is null ? this : this with { MessageId = Ids.NewResponseId(conversationId) };

        /// <summary>What a batch of this send opens with: the key's check when there is one (<see cref="ApiKeys.CheckInBatch"/>).</summary>
        public string KeyCheck => KeyToCheck is null ? "" : ApiKeys.CheckInBatch;

        /// <summary>The check's parameter, when there is one.</summary>
        public void AddKeyCheck(MySqlParameterCollection parameters)
        {
            if (KeyToCheck is { } key)
            {
                parameters.AddWithValue("@checked_key_id", key);
            }
        }
    }

    /// <summary>A key's claim, the statements a keyed send's transaction opens with (<see cref="IdempotencyKeys"/>).</summary>
    internal sealed record KeyClaim(string Sql, Action<MySqlParameterCollection> AddParameters);

    // A fresh conversation id colliding with an existing one is a 1-in-10^18 event: another id, not a failed send.
    private static Task<TurnOutcome> StartConversationAsync(MySqlConnection connection, Send send, CancellationToken cancellationToken) =>
        AgainOnDuplicateKeyAsync(connection, () =>
        {
            var conversationId = Ids.NewConversationId();
            return StartAsync(connection, send.In(conversationId), conversationId, claim: null, cancellationToken);
        });

    /// <summary>
    /// Runs a transaction that inserts unique keys, and again (three times in all) when one of them was taken meanwhile:
    /// the batch stopped at that statement, and is rolled back before the next try.
    /// </summary>
    internal static async Task<TurnOutcome> AgainOnDuplicateKeyAsync(MySqlConnection connection, Func<Task<TurnOutcome>> transaction)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await transaction();
            }
            catch (MySqlException exception) when (exception.Number == DuplicateKey && attempt < 3)
            {
                await connection.RollbackAsync();
            }
        }
    }

    internal static async Task<TurnOutcome> StartAsync(
        MySqlConnection connection, Send send, string conversationId, KeyClaim? claim, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO conversation_store (conv_id, user_id, message_count, last_message_no, created_at, updated_at)
            VALUES (@conv, @user, 1, 2, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            INSERT INTO message_store (role, conv_id, message_no, message_id, message, tool_calls, settings, request, token_count, Status, created_at, updated_at)
            VALUES (@role, @conv, 1, @mid, @message, @tool_calls, @settings, @request, @tokens, 'Pending', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            """;
        // After the COMMIT, whether the message is there (see UnitOfWork.CommitLostException).
        const string stored = "SELECT COUNT(*) FROM message_store WHERE conv_id = @conv AND message_id = @mid;";
        await using var command = Batch(connection, claim, $"{sql}{UnitOfWork.Commit}{stored}", send, conversationId);
        if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            throw new UnitOfWork.CommitLostException();
        }
        return new TurnOutcome.Begun(new StartedTurn(send.UserId, conversationId, send.MessageId, 1, Attempt: 0, IsNewConversation: true));
    }

    /// <summary>
    /// A send into an existing conversation, in one batch: a retry of an Error, Cancelled or abandoned attempt takes
    /// its message up again in place (same row, same reserved reply number, the next attempt, a partial reply gone); a
    /// new message_id is stored with the next two numbers; anything else is read back as it stands. A send that names
    /// a branch point (<see cref="BranchPoint"/>) stores the row it follows in parent_no (NULL when that is the newest,
    /// the row right before) and marks the conversation branched; one whose branch point is not there stores nothing,
    /// nor does a takeover (<see cref="Send.RetakeOnly"/>) whose message is gone.
    /// </summary>
    internal static async Task<TurnOutcome> ContinueConversationAsync(
        MySqlConnection connection, Send send, string conversationId, KeyClaim? claim, CancellationToken cancellationToken)
    {
        // A keyed send whose turn did not begin gives its key back, as if it had never been claimed.
        var keyGivenBack = claim is null ? "" : """
            DELETE FROM idempotency_key WHERE user_id = @user AND idem_key = @key AND @turn_retaken + @turn_inserted = 0;
            """;
        var sql = $"""
            UPDATE conversation_store SET last_message_no = last_message_no WHERE conv_id = @conv AND user_id = @user;
            UPDATE message_store m
            JOIN conversation_store c ON c.conv_id = m.conv_id AND c.user_id = @user
            LEFT JOIN reply_progress p ON p.conv_id = m.conv_id AND p.message_no = m.message_no AND p.attempt = m.attempt
            SET m.Status = 'Pending', m.error_code = NULL, m.attempt = m.attempt + 1, m.updated_at = UTC_TIMESTAMP(6)
            WHERE m.conv_id = @conv AND m.message_id = @mid AND m.role = @role
              AND CAST(m.message AS BINARY) = CAST(@message AS BINARY)
              AND (m.Status IN ('Error', 'Cancelled') OR (m.Status = 'Pending'
                   AND GREATEST(COALESCE(p.heartbeat_at, m.updated_at), m.updated_at) < UTC_TIMESTAMP(6) - INTERVAL @abandoned_us MICROSECOND));
            SET @turn_retaken = ROW_COUNT();
            DELETE r FROM message_store r JOIN message_store u ON u.conv_id = r.conv_id AND r.message_no = u.message_no + 1
            WHERE u.conv_id = @conv AND u.message_id = @mid AND r.role = 'assistant' AND @turn_retaken > 0;
            {FollowedRow(send)}
            INSERT INTO message_store (role, conv_id, message_no, parent_no, message_id, message, tool_calls, settings, request, token_count, Status, created_at, updated_at)
            SELECT @role, c.conv_id, c.last_message_no + 1, NULLIF(@turn_parent, c.last_message_no), @mid, @message, @tool_calls, @settings, @request, @tokens,
                   'Pending', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
            FROM conversation_store c
            WHERE c.conv_id = @conv AND c.user_id = @user AND (@follows IS NULL OR @turn_parent IS NOT NULL)
              AND NOT EXISTS (SELECT 1 FROM message_store e WHERE e.conv_id = @conv AND e.message_id = @mid) AND NOT @retake_only;
            SET @turn_inserted = ROW_COUNT();
            UPDATE conversation_store
            SET branched = branched OR (@turn_inserted > 0 AND COALESCE(@turn_parent <> last_message_no, 0)),
                last_message_no = last_message_no + 2 * @turn_inserted,
                message_count = (SELECT COUNT(*) FROM message_store WHERE conv_id = @conv),
                updated_at = IF(@turn_inserted > 0, UTC_TIMESTAMP(6), updated_at)
            WHERE conv_id = @conv AND @turn_inserted + @turn_retaken > 0;
            {keyGivenBack}
            SELECT @turn_inserted AS inserted, @turn_retaken AS retaken, @follows IS NOT NULL AND @turn_parent IS NULL AS unfollowable,
                   m.role, m.message_no, m.Status, m.attempt,
                   CAST(m.message AS BINARY) = CAST(@message AS BINARY) AS same_message, c.message_count,
                   {ReplyColumns.Silence}, {ReplyColumns.Reply}
            FROM conversation_store c
            LEFT JOIN message_store m ON m.conv_id = c.conv_id AND m.message_id = @mid
            {ReplyColumns.ProgressAndReplyJoins}
            WHERE c.conv_id = @conv AND c.user_id = @user;
            {UnitOfWork.Commit}
            """;
        await using var command = Batch(connection, claim, sql, send, conversationId);
        command.Parameters.AddWithValue("@abandoned_us", (long)send.AbandonedAfter.TotalMicroseconds);
        command.Parameters.AddWithValue("@retake_only", send.RetakeOnly);
        command.Parameters.AddWithValue("@follows", send.Follows?.MessageId);
        command.Parameters.AddWithValue("@follow_mode", send.Follows?.Mode.ToString());

        TurnOutcome? outcome;
        Exception? unreadable = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            // Another user's conversation answers exactly like a missing one: ids are not confirmed to strangers.
            try
            {
                outcome = await reader.ReadAsync(cancellationToken)
                    ? Continued(reader, send, conversationId)
                    : new TurnOutcome.ConversationNotFound();
            }
            catch (Exception exception) when (exception is not MySqlException)
            {
                // A row that its own batch's writes are missing from (a transaction rolled back under the batch, see
                // UnitOfWork.Begin): the batch's error, read next, says so; else this one stands.
                (outcome, unreadable) = (null, exception);
            }
            await reader.ReadToEndAsync(cancellationToken);
        }
        return outcome ?? throw unreadable!;
    }

    private static TurnOutcome Continued(MySqlDataReader reader, Send send, string conversationId)
    {
        var messageId = send.MessageId;
        if (reader.GetInt64("inserted") > 0 || reader.GetInt64("retaken") > 0)
        {
            return new TurnOutcome.Begun(new StartedTurn(
                send.UserId, conversationId, messageId, reader.GetInt32("message_no"), reader.GetInt32("attempt"), IsNewConversation: false));
        }
        if (reader.IsDBNull(reader.GetOrdinal("message_no")))
        {
            // Not stored: its branch point is not there, or (a takeover's) the message is gone.
            return reader.GetBoolean("unfollowable")
                ? new TurnOutcome.BranchPointNotFound(send.Follows!.MessageId)
                : new TurnOutcome.ConversationNotFound();
        }
        if (reader.GetString("role") == "assistant" || !reader.GetBoolean("same_message"))
        {
            return new TurnOutcome.MessageIdReused(conversationId, messageId);
        }
        return reader.GetStatus("Status") == MessageStatus.Success && reader.ReadReply() is { } reply
            ? new TurnOutcome.Answered(new AnsweredTurn(conversationId, messageId, reply, reader.GetInt32("message_count")))
            // Pending and not abandoned (an abandoned, Error or Cancelled attempt was retaken above).
            : new TurnOutcome.StillInProgress(conversationId, messageId);
    }

    // The row a branching send follows, into @turn_parent (NULL when its branch point is not there, or when the send
    // goes after it and it has no answer); NULL for a send that follows the newest row. Read under the conversation's lock.
    private static string FollowedRow(Send send) => send.Follows is null ? "SET @turn_parent = NULL;" : """
        SET @turn_parent = (
            SELECT IF(@follow_mode = 'After' OR (@follow_mode = 'ByRole' AND f.role = 'assistant'),
                      IF(r.Status = 'Success', r.message_no, NULL),
                      COALESCE(u.parent_no, u.message_no - 1))
            FROM message_store f
            JOIN message_store u ON u.conv_id = f.conv_id AND u.message_no = IF(f.role = 'assistant', f.message_no - 1, f.message_no)
            LEFT JOIN message_store r ON r.conv_id = f.conv_id AND r.message_no = u.message_no + 1 AND r.role = 'assistant'
            WHERE f.conv_id = @conv AND f.message_id = @follows);
        """;

    /// <summary>
    /// How every transaction of a turn starts. READ COMMITTED: under InnoDB's default REPEATABLE READ, the statements
    /// that find their rows by a search (the takeover's UPDATE ... JOIN and DELETE ... JOIN, the usage INSERT ... SELECT)
    /// lock the gaps beside the rows they read, and sends of unrelated users into neighbouring keys then wait on each
    /// other or deadlock, which a multi-primary cluster turns into certification failures of whole turns. The turn
    /// needs no snapshot older than each statement: its order comes from the conversation row's lock, taken first.
    /// </summary>
    internal const string StartTransaction = $"SET TRANSACTION ISOLATION LEVEL READ COMMITTED;\n{UnitOfWork.Begin}";

    // The turn's transaction in one batch: START TRANSACTION, a key's claim when there is one, then the statements.
    private static MySqlCommand Batch(MySqlConnection connection, KeyClaim? claim, string sql, Send send, string conversationId)
    {
        var command = new MySqlCommand($"{StartTransaction}{send.KeyCheck}{claim?.Sql}{sql}", connection);
        send.AddKeyCheck(command.Parameters);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@user", send.UserId);
        command.Parameters.AddWithValue("@mid", send.MessageId);
        command.Parameters.AddWithValue("@message", send.Message);
        command.Parameters.AddWithValue("@tokens", send.TokenCount);
        command.Parameters.AddWithValue("@role", send.Kind.Role);
        command.Parameters.AddWithValue("@tool_calls", send.Kind.ToolCalls);
        command.Parameters.AddWithValue("@settings", send.Settings);
        command.Parameters.AddWithValue("@request", send.Response?.Request);
        claim?.AddParameters(command.Parameters);
        return command;
    }
}
