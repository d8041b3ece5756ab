using System.Data;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// The SQL of a chat turn (SPEC §4). A turn is two short transactions around the model call, and no connection is
/// held while the model thinks:
/// <list type="number">
/// <item>store the user's message as Pending and reserve its reply's number, under the conversation row's lock;</item>
/// <item>store the reply and mark the message Success (or mark it Error), keeping message_count true.</item>
/// </list>
/// </summary>
public sealed class TurnStore(MySqlDataSource dataSource)
{
    private const int DuplicateKey = 1062;

    // A reply's conversation is gone (deleted while the reply was generated): its foreign key finds no row.
    private const int NoReferencedRow = 1452;

    /// <summary>
    /// Stores the user's message as Pending in a new conversation (no <paramref name="conversationId"/>) or an
    /// existing one, or finds the turn that <paramref name="messageId"/>, or <paramref name="idempotencyKey"/>, named
    /// before.
    /// </summary>
    public async Task<BeginTurnResult> BeginTurnAsync(
        long userId, string? conversationId, string messageId, string message, int tokenCount, TimeSpan abandonedAfter,
        IdempotencyKey? idempotencyKey, CancellationToken cancellationToken)
    {
        return await dataSource.RunAsync(async connection => idempotencyKey is not null
            ? await BeginKeyedTurnAsync(
                connection, userId, conversationId, messageId, message, tokenCount, abandonedAfter, idempotencyKey, cancellationToken)
            : conversationId is null
                ? await StartConversationAsync(connection, userId, messageId, message, tokenCount, cancellationToken)
                : await ContinueConversationAsync(
                    connection, userId, conversationId, messageId, message, tokenCount, abandonedAfter, inTransaction: false,
                    cancellationToken),
            cancellationToken);
    }

    // Transactions travel as one batch, START TRANSACTION and COMMIT included, so that a transaction costs one
    // round trip instead of three: the write path is bound by round trips and commits, not by the statements.
    // A keyed send begins its transaction with the key's claim, and the batch that follows then leaves it out.
    private const string BeginTransaction = "START TRANSACTION;\n";

    private static async Task<BeginTurnResult> StartConversationAsync(
        MySqlConnection connection, long userId, string messageId, string message, int tokenCount,
        CancellationToken cancellationToken)
    {
        // A fresh id colliding with an existing one is a 1-in-10^18 event; try again rather than fail the send.
        for (var attempt = 1; ; attempt++)
        {
            if (await TryStartConversationAsync(
                    connection, userId, Ids.NewConversationId(), messageId, message, tokenCount, inTransaction: false,
                    lastTry: attempt == 3, cancellationToken) is { } started)
            {
                return started;
            }
        }
    }

    // Null when the conversation id is taken (the transaction is then rolled back), unless this is the last try.
    private static async Task<BeginTurnResult?> TryStartConversationAsync(
        MySqlConnection connection, long userId, string conversationId, string messageId, string message, int tokenCount,
        bool inTransaction, bool lastTry, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO conversation_store (conv_id, user_id, message_count, last_message_no, created_at, updated_at)
            VALUES (@conv, @user, 1, 2, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            INSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at)
            VALUES ('user', @conv, 1, @mid, @message, @tokens, 'Pending', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            COMMIT;
            """;
        const string transaction = BeginTransaction + sql;
        await using var command = new MySqlCommand(inTransaction ? sql : transaction, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@user", userId);
        command.Parameters.AddWithValue("@mid", messageId);
        command.Parameters.AddWithValue("@message", message);
        command.Parameters.AddWithValue("@tokens", tokenCount);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new BeginTurnResult.Started(new StartedTurn(conversationId, messageId, 1, Attempt: 0, IsNewConversation: true));
        }
        catch (MySqlException exception) when (exception.Number == DuplicateKey && !lastTry)
        {
            await connection.RollbackAsync();
            return null;
        }
    }

    // A send with an Idempotency-Key: the turn the key named within 24 hours, or a new turn that claims the key in
    // its own transaction, so that a key is recorded exactly when its turn is. Of two sends with one key at once,
    // the second waits on the first's claim, then finds it.
    private static async Task<BeginTurnResult> BeginKeyedTurnAsync(
        MySqlConnection connection, long userId, string? conversationId, string messageId, string message, int tokenCount,
        TimeSpan abandonedAfter, IdempotencyKey key, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var earlier = await FindKeyedTurnAsync(connection, userId, key.Key, cancellationToken);
            if (earlier is { Expired: false })
            {
                return earlier.Fingerprint.AsSpan().SequenceEqual(key.Fingerprint)
                    ? await ContinueConversationAsync(
                        connection, userId, earlier.ConversationId, earlier.MessageId, message, tokenCount, abandonedAfter,
                        inTransaction: false, cancellationToken)
                    : new BeginTurnResult.IdempotencyKeyReused();
            }

            var target = conversationId ?? Ids.NewConversationId();
            var lastTry = attempt == 3;
            if (await TryClaimKeyAsync(connection, userId, key, target, messageId, replaceExpired: earlier is not null, lastTry, cancellationToken))
            {
                var begun = conversationId is null
                    ? await TryStartConversationAsync(
                        connection, userId, target, messageId, message, tokenCount, inTransaction: true, lastTry, cancellationToken)
                    : await ContinueConversationAsync(
                        connection, userId, conversationId, messageId, message, tokenCount, abandonedAfter, inTransaction: true,
                        cancellationToken);
                if (begun is not null)
                {
                    return begun;
                }
            }
        }
    }

    private static async Task<KeyedTurn?> FindKeyedTurnAsync(
        MySqlConnection connection, long userId, string key, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT fingerprint, conv_id, message_id, created_at <= UTC_TIMESTAMP(6) - INTERVAL 1 DAY AS expired
            FROM idempotency_key WHERE user_id = @user AND idem_key = @key
            """;
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@user", userId);
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

    // Starts the turn's transaction with the key's row; false (rolled back) when another send holds the key now.
    private static async Task<bool> TryClaimKeyAsync(
        MySqlConnection connection, long userId, IdempotencyKey key, string conversationId, string messageId,
        bool replaceExpired, bool lastTry, CancellationToken cancellationToken)
    {
        const string claim = """
            START TRANSACTION;
            INSERT INTO idempotency_key (user_id, idem_key, fingerprint, conv_id, message_id, created_at)
            VALUES (@user, @key, @fingerprint, @conv, @mid, UTC_TIMESTAMP(6));
            """;
        const string replace = """
            START TRANSACTION;
            DELETE FROM idempotency_key
            WHERE user_id = @user AND idem_key = @key AND created_at <= UTC_TIMESTAMP(6) - INTERVAL 1 DAY;
            INSERT INTO idempotency_key (user_id, idem_key, fingerprint, conv_id, message_id, created_at)
            VALUES (@user, @key, @fingerprint, @conv, @mid, UTC_TIMESTAMP(6));
            """;
        await using var command = new MySqlCommand(replaceExpired ? replace : claim, connection);
        command.Parameters.AddWithValue("@user", userId);
        command.Parameters.AddWithValue("@key", key.Key);
        command.Parameters.AddWithValue("@fingerprint", key.Fingerprint);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@mid", messageId);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }
        catch (MySqlException exception) when (exception.Number == DuplicateKey && !lastTry)
        {
            await connection.RollbackAsync();
            return false;
        }
    }

    private static async Task<BeginTurnResult> ContinueConversationAsync(
        MySqlConnection connection, long userId, string conversationId, string messageId, string message, int tokenCount,
        TimeSpan abandonedAfter, bool inTransaction, CancellationToken cancellationToken)
    {
        // The conversation row's lock serialises sends into one conversation: numbers are reserved in order and a
        // duplicate message_id is seen by whoever comes second.
        const string lookup = $"""
            SELECT user_id, last_message_no FROM conversation_store WHERE conv_id = @conv FOR UPDATE;
            SELECT m.role, m.message_no, m.message, m.Status, m.attempt, c.message_count, {Columns.Silence}, {Columns.Reply}
            FROM message_store m
            JOIN conversation_store c ON c.conv_id = m.conv_id
            {Columns.ProgressAndReplyJoins}
            WHERE m.conv_id = @conv AND m.message_id = @mid;
            """;
        const string transaction = BeginTransaction + lookup;
        await using var command = new MySqlCommand(inTransaction ? lookup : transaction, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@mid", messageId);

        long? owner = null;
        var lastMessageNo = 0;
        ExistingMessage? existing = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                owner = reader.GetInt64("user_id");
                lastMessageNo = reader.GetInt32("last_message_no");
            }
            await reader.NextResultAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                existing = new ExistingMessage(
                    Role: reader.GetString("role"),
                    MessageNo: reader.GetInt32("message_no"),
                    Message: reader.GetString("message"),
                    Status: reader.GetStatus("Status"),
                    Attempt: reader.GetInt32("attempt"),
                    Silence: TimeSpan.FromMicroseconds(reader.GetInt64("silent_us")),
                    MessageCount: reader.GetInt32("message_count"),
                    Reply: reader.ReadReply());
            }
        }

        // Another user's conversation answers exactly like a missing one: ids are not confirmed to strangers.
        if (owner != userId)
        {
            await connection.RollbackAsync();
            return new BeginTurnResult.ConversationNotFound();
        }

        if (existing is not null)
        {
            return await RetryExistingAsync(connection, conversationId, messageId, message, existing, abandonedAfter, cancellationToken);
        }

        const string reserve = """
            UPDATE conversation_store
            SET last_message_no = @reply, message_count = message_count + 1, updated_at = UTC_TIMESTAMP(6)
            WHERE conv_id = @conv;
            INSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at)
            VALUES ('user', @conv, @no, @mid, @message, @tokens, 'Pending', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            COMMIT;
            """;
        var messageNo = lastMessageNo + 1;
        await using var insert = new MySqlCommand(reserve, connection);
        insert.Parameters.AddWithValue("@conv", conversationId);
        insert.Parameters.AddWithValue("@no", messageNo);
        insert.Parameters.AddWithValue("@reply", messageNo + 1);
        insert.Parameters.AddWithValue("@mid", messageId);
        insert.Parameters.AddWithValue("@message", message);
        insert.Parameters.AddWithValue("@tokens", tokenCount);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return new BeginTurnResult.Started(new StartedTurn(conversationId, messageId, messageNo, Attempt: 0, IsNewConversation: false));
    }

    private static async Task<BeginTurnResult> RetryExistingAsync(
        MySqlConnection connection, string conversationId, string messageId, string message,
        ExistingMessage existing, TimeSpan abandonedAfter, CancellationToken cancellationToken)
    {
        BeginTurnResult? answer = null;
        if (existing.Role != "user" || !string.Equals(existing.Message, message, StringComparison.Ordinal))
        {
            answer = new BeginTurnResult.MessageIdReused(conversationId, messageId);
        }
        else if (existing is { Status: MessageStatus.Success, Reply: { } reply })
        {
            answer = new BeginTurnResult.AlreadyAnswered(new AnsweredTurn(conversationId, messageId, reply, existing.MessageCount));
        }
        else if (existing.Status == MessageStatus.Pending && existing.Silence <= abandonedAfter)
        {
            answer = new BeginTurnResult.StillInProgress(conversationId, messageId);
        }
        if (answer is not null)
        {
            await connection.RollbackAsync();
            return answer;
        }

        // An Error, Cancelled (or abandoned) turn is taken up again in place: same message row, same reserved reply
        // number, the next attempt. A partial reply gives way to the new one; an abandoned attempt that still runs
        // somewhere can no longer store its end.
        const string retake = """
            UPDATE message_store SET Status = 'Pending', error_code = NULL, attempt = attempt + 1, updated_at = UTC_TIMESTAMP(6)
            WHERE conv_id = @conv AND message_no = @no;
            DELETE FROM message_store WHERE conv_id = @conv AND message_no = @reply_no AND role = 'assistant';
            UPDATE conversation_store SET message_count = message_count - ROW_COUNT() WHERE conv_id = @conv;
            COMMIT;
            """;
        await using var command = new MySqlCommand(retake, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@no", existing.MessageNo);
        command.Parameters.AddWithValue("@reply_no", existing.MessageNo + 1);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new BeginTurnResult.Started(
            new StartedTurn(conversationId, messageId, existing.MessageNo, existing.Attempt + 1, IsNewConversation: false));
    }

    /// <summary>The answered turns before <paramref name="beforeMessageNo"/>, newest first, at most <paramref name="limit"/> messages.</summary>
    public async Task<IReadOnlyList<ContextMessage>> GetContextAsync(
        string conversationId, int beforeMessageNo, int limit, CancellationToken cancellationToken)
    {
        // A user message counts only once answered, and only an answer is a Success assistant row, so a failed,
        // cancelled or unfinished turn is never replayed as context.
        const string sql = """
            SELECT role, message, message_no, token_count
            FROM message_store
            WHERE conv_id = @conv AND message_no < @before AND Status = 'Success'
            ORDER BY message_no DESC
            LIMIT @limit
            """;
        return await dataSource.RunAsync<IReadOnlyList<ContextMessage>>(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@before", beforeMessageNo);
            command.Parameters.AddWithValue("@limit", limit);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleResult, cancellationToken);
            var messages = new List<ContextMessage>();
            while (await reader.ReadAsync(cancellationToken))
            {
                messages.Add(new ContextMessage(
                    reader.GetString("role"), reader.GetString("message"), reader.GetInt32("message_no"),
                    reader.GetNullableInt32("token_count")));
            }
            return messages;
        }, cancellationToken);
    }

    /// <summary>
    /// Ends a turn as Success with its reply, or as Cancelled or Error (with <paramref name="errorCode"/>) with what
    /// was generated, if anything; unless another attempt took the turn over, which then stores its own end. A
    /// <paramref name="title"/> names a conversation still called NEW CHAT. The turn's <paramref name="tokensUsed"/>
    /// count towards its user's day (usage_daily) in the same transaction.
    /// </summary>
    public async Task<CompletedTurn> CompleteTurnAsync(
        StartedTurn turn, ReplyRecord? reply, MessageStatus status, int elapsedMs, string? errorCode, long tokensUsed,
        CancellationToken cancellationToken, string? title = null)
    {
        // The conversation row is locked first, exclusively: inserting the reply first would take a shared lock
        // on it (the foreign-key check) and two replies upgrading their shared locks at once deadlock. The message
        // is ended only by its own attempt; an attempt that was taken over finds the reply of the one that took it
        // (a duplicate key), or takes its own reply back out. (INSERT ... SELECT would say it in one statement, but
        // takes InnoDB's table-wide auto-increment lock under the default lock mode of MariaDB.)
        const string withReply = $"""
            START TRANSACTION;
            UPDATE conversation_store
            SET updated_at = UTC_TIMESTAMP(6), chat_name = IF(@title IS NULL OR chat_name <> 'NEW CHAT', chat_name, @title)
            WHERE conv_id = @conv;
            UPDATE message_store SET Status = @status, error_code = @error, elapsed_time = @elapsed, updated_at = UTC_TIMESTAMP(6)
            WHERE conv_id = @conv AND message_no = @no AND Status = 'Pending' AND attempt = @attempt;
            INSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, elapsed_time, model,
                input_tokens, output_tokens, finish_reason, time_to_first_token, Status, created_at, updated_at)
            VALUES ('assistant', @conv, @reply_no, @reply_id, @reply, @reply_tokens, @elapsed, @model,
                @input_tokens, @output_tokens, @finish_reason, @ttft, @status, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            DELETE r FROM message_store r JOIN message_store u ON u.conv_id = r.conv_id AND u.message_no = @no
            WHERE r.conv_id = @conv AND r.message_no = @reply_no AND r.message_id = @reply_id
              AND NOT (u.attempt = @attempt AND u.Status = @status);
            UPDATE conversation_store SET message_count = message_count + 1 - ROW_COUNT() WHERE conv_id = @conv;
            {UsageQueries.CountTurnSql}
            SELECT c.message_count, u.attempt = @attempt AND u.Status = @status AS ended
            FROM conversation_store c JOIN message_store u ON u.conv_id = c.conv_id AND u.message_no = @no
            WHERE c.conv_id = @conv;
            COMMIT;
            """;
        const string withoutReply = $"""
            START TRANSACTION;
            UPDATE conversation_store SET updated_at = UTC_TIMESTAMP(6) WHERE conv_id = @conv;
            UPDATE message_store SET Status = @status, error_code = @error, elapsed_time = @elapsed, updated_at = UTC_TIMESTAMP(6)
            WHERE conv_id = @conv AND message_no = @no AND Status = 'Pending' AND attempt = @attempt;
            {UsageQueries.CountTurnSql}
            SELECT c.message_count, u.attempt = @attempt AND u.Status = @status AS ended
            FROM conversation_store c JOIN message_store u ON u.conv_id = c.conv_id AND u.message_no = @no
            WHERE c.conv_id = @conv;
            COMMIT;
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(reply is null ? withoutReply : withReply, connection);
            command.Parameters.AddWithValue("@conv", turn.ConversationId);
            command.Parameters.AddWithValue("@no", turn.MessageNo);
            command.Parameters.AddWithValue("@attempt", turn.Attempt);
            command.Parameters.AddWithValue("@status", status.ToString());
            command.Parameters.AddWithValue("@error", errorCode);
            command.Parameters.AddWithValue("@elapsed", elapsedMs);
            command.Parameters.AddWithValue("@used", tokensUsed);
            if (reply is not null)
            {
                command.Parameters.AddWithValue("@title", title);
                command.Parameters.AddWithValue("@reply_no", turn.ReplyNo);
                command.Parameters.AddWithValue("@reply_id", reply.MessageId);
                command.Parameters.AddWithValue("@reply", reply.Text);
                command.Parameters.AddWithValue("@reply_tokens", reply.TokenCount);
                command.Parameters.AddWithValue("@model", reply.Model);
                command.Parameters.AddWithValue("@input_tokens", reply.InputTokens);
                command.Parameters.AddWithValue("@output_tokens", reply.OutputTokens);
                command.Parameters.AddWithValue("@finish_reason", reply.FinishReason);
                command.Parameters.AddWithValue("@ttft", reply.TimeToFirstTokenMs);
            }
            try
            {
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                return await reader.ReadAsync(cancellationToken)
                    ? new CompletedTurn(reader.GetInt32("message_count"), Stored: reader.GetInt64("ended") == 1)
                    : new CompletedTurn(0, Stored: false, Gone: true);
            }
            catch (MySqlException exception) when (exception.Number is DuplicateKey or NoReferencedRow)
            {
                await connection.RollbackAsync();
                return new CompletedTurn(0, Stored: false, Gone: exception.Number == NoReferencedRow);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Marks a turn's message Error with the time the failed call took and why; the client may retry it. It counts as
    /// one of its user's sends of the day, without tokens.
    /// </summary>
    public async Task FailTurnAsync(StartedTurn turn, int elapsedMs, string errorCode, CancellationToken cancellationToken)
    {
        const string sql = $"""
            START TRANSACTION;
            UPDATE message_store SET Status = 'Error', error_code = @error, elapsed_time = @elapsed, updated_at = UTC_TIMESTAMP(6)
            WHERE conv_id = @conv AND message_no = @no AND Status = 'Pending' AND attempt = @attempt;
            {UsageQueries.CountTurnSql}
            COMMIT;
            """;
        await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", turn.ConversationId);
            command.Parameters.AddWithValue("@no", turn.MessageNo);
            command.Parameters.AddWithValue("@attempt", turn.Attempt);
            command.Parameters.AddWithValue("@elapsed", elapsedMs);
            command.Parameters.AddWithValue("@error", errorCode);
            command.Parameters.AddWithValue("@status", nameof(MessageStatus.Error));
            command.Parameters.AddWithValue("@used", 0);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private sealed record KeyedTurn(byte[] Fingerprint, string ConversationId, string MessageId, bool Expired);

    private sealed record ExistingMessage(
        string Role, int MessageNo, string Message, MessageStatus Status, int Attempt, TimeSpan Silence, int MessageCount,
        ReplyRecord? Reply);
}
