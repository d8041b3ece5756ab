using MySqlConnector;

namespace ChatBackend.ApiService.Data;

// The turn's second transaction: its end, with the reply when there is one, in one batch.
public sealed partial class TurnStore
{
    // A reply's conversation is gone (deleted while the reply was generated): its foreign key finds no row.
    private const int NoReferencedRow = 1452;

    // The reply's INSERT of an end that is not its attempt's (Column 'conv_id' cannot be null): see CompleteTurnAsync.
    private const int NotThisAttempt = 1048;

    /// <summary>
    /// The message ended by its own attempt only; whether it was, in @turn_ended for the statements after it. A
    /// condition on @turn_ended alone is settled before any row is read: a statement it rules out costs no lock.
    /// </summary>
    private const string EndMessageSql = """
        UPDATE message_store SET Status = @status, error_code = @error, elapsed_time = @elapsed, updated_at = UTC_TIMESTAMP(6)
        WHERE conv_id = @conv AND message_no = @no AND Status = 'Pending' AND attempt = @attempt;
        SET @turn_ended = ROW_COUNT();
        """;

    /// <summary>The tokens the turn cost and one send, on the day it ended, for its user, when its attempt ended it.</summary>
    private const string CountUsageSql = """
        INSERT INTO usage_daily (user_id, day, tokens, sends)
        SELECT @user, UTC_DATE(), @used, 1 FROM DUAL WHERE @turn_ended > 0
        ON DUPLICATE KEY UPDATE tokens = tokens + VALUES(tokens), sends = sends + 1;
        """;

    /// <summary>
    /// What <see cref="CompletedTurn"/> reads: the conversation's count (no row: it was deleted), and the end; then,
    /// after the COMMIT, the message as it now stands (see <see cref="UnitOfWork.CommitLostException"/>).
    /// </summary>
    private const string EndedSql = $"""
        SELECT message_count, @turn_ended AS ended FROM conversation_store WHERE conv_id = @conv;
        {UnitOfWork.Commit}
        SELECT Status = 'Pending' AND attempt = @attempt AS still_pending FROM message_store WHERE conv_id = @conv AND message_no = @no;
        """;

    /// <summary>
    /// Ends a turn as Success with its reply, or as Cancelled or Error (with <paramref name="error"/>) with what
    /// was generated, if anything; unless another attempt took the turn over, which then stores its own end. A
    /// <paramref name="title"/> names a conversation still called NEW CHAT. The turn's <paramref name="tokensUsed"/>
    /// count towards its user's day (usage_daily) in the same transaction.
    /// </summary>
    public async Task<CompletedTurn> CompleteTurnAsync(
        StartedTurn turn, ReplyRecord? reply, MessageStatus status, int elapsedMs, TurnError? error, long tokensUsed,
        CancellationToken cancellationToken, string? title = null)
    {
        // The conversation row is locked first, exclusively: inserting the reply first would take a shared lock
        // on it (the foreign-key check) and two replies upgrading their shared locks at once deadlock. Its count
        // takes the reply at once: the rows it has, and the reply (TurnStore's protocol: a count is the rows'). The
        // message is ended only by its own attempt; an end that is not this attempt's
        // (another took the turn over, or the conversation was deleted) stops at the reply's INSERT, whose conv_id is
        // then NULL (1048, in strict mode or not), and the whole transaction is rolled back: two statements fewer on
        // every turn than taking the reply and the count back out, for a rare end. (INSERT ... SELECT would make the
        // reply conditional too, but takes InnoDB's table-wide auto-increment lock under MariaDB's default lock mode.)
        const string withReply = $"""
            {StartTransaction}
            UPDATE conversation_store
            SET updated_at = UTC_TIMESTAMP(6), message_count = (SELECT COUNT(*) FROM message_store WHERE conv_id = @conv) + 1,
                chat_name = IF(@title IS NULL OR chat_name <> 'NEW CHAT', chat_name, @title)
            WHERE conv_id = @conv;
            {EndMessageSql}
            INSERT INTO message_store (role, conv_id, message_no, message_id, message, tool_calls, token_count, elapsed_time, model,
                input_tokens, output_tokens, finish_reason, time_to_first_token, Status, created_at, updated_at)
            VALUES ('assistant', IF(@turn_ended > 0, @conv, NULL), @reply_no, @reply_id, @reply, @tool_calls, @reply_tokens, @elapsed,
                @model, @input_tokens, @output_tokens, @finish_reason, @ttft, @status, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            {CountUsageSql}
            {EndedSql}
            """;
        const string withoutReply = $"""
            {StartTransaction}
            UPDATE conversation_store SET updated_at = UTC_TIMESTAMP(6) WHERE conv_id = @conv;
            {EndMessageSql}
            {CountUsageSql}
            {EndedSql}
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(reply is null ? withoutReply : withReply, connection);
            command.Parameters.AddWithValue("@conv", turn.ConversationId);
            command.Parameters.AddWithValue("@no", turn.MessageNo);
            command.Parameters.AddWithValue("@attempt", turn.Attempt);
            command.Parameters.AddWithValue("@status", status.ToString());
            command.Parameters.AddWithValue("@error", error?.Code());
            command.Parameters.AddWithValue("@elapsed", elapsedMs);
            command.Parameters.AddWithValue("@used", tokensUsed);
            command.Parameters.AddWithValue("@user", turn.UserId);
            if (reply is not null)
            {
                command.Parameters.AddWithValue("@title", title);
                command.Parameters.AddWithValue("@reply_no", turn.ReplyNo);
                command.Parameters.AddWithValue("@reply_id", reply.MessageId);
                command.Parameters.AddWithValue("@reply", reply.Text);
                command.Parameters.AddWithValue("@tool_calls", reply.ToolCalls);
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
                var completed = await reader.ReadAsync(cancellationToken)
                    ? new CompletedTurn(reader.GetInt32("message_count"), Stored: reader.GetInt64("ended") == 1)
                    : new CompletedTurn(0, Stored: false, Gone: true);
                var stillPending = await reader.NextResultAsync(cancellationToken) && await reader.ReadAsync(cancellationToken)
                    && reader.GetInt64("still_pending") == 1;
                await reader.ReadToEndAsync(cancellationToken);
                return completed.Stored && stillPending ? throw new UnitOfWork.CommitLostException() : completed;
            }
            catch (MySqlException exception) when (exception.Number is DuplicateKey or NoReferencedRow or NotThisAttempt)
            {
                await connection.RollbackAsync();
                var gone = exception.Number == NoReferencedRow
                    || (exception.Number == NotThisAttempt && !await ConversationExistsAsync(connection, turn.ConversationId, cancellationToken));
                return new CompletedTurn(0, Stored: false, Gone: gone);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Marks a turn's message Error with the time the failed call took and why; the client may retry it. It counts as
    /// one of its user's sends of the day, without tokens.
    /// </summary>
    public async Task FailTurnAsync(StartedTurn turn, int elapsedMs, TurnError error, CancellationToken cancellationToken)
    {
        const string sql = $"""
            {StartTransaction}
            {EndMessageSql}
            {CountUsageSql}
            {UnitOfWork.Commit}
            """;
        await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", turn.ConversationId);
            command.Parameters.AddWithValue("@no", turn.MessageNo);
            command.Parameters.AddWithValue("@attempt", turn.Attempt);
            command.Parameters.AddWithValue("@elapsed", elapsedMs);
            command.Parameters.AddWithValue("@error", error.Code());
            command.Parameters.AddWithValue("@status", nameof(MessageStatus.Error));
            command.Parameters.AddWithValue("@used", 0);
            command.Parameters.AddWithValue("@user", turn.UserId);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private static async Task<bool> ConversationExistsAsync(MySqlConnection connection, string conversationId, CancellationToken cancellationToken)
    {
        await using var command = new MySqlCommand("SELECT COUNT(*) FROM conversation_store WHERE conv_id = @conv", connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }
}
