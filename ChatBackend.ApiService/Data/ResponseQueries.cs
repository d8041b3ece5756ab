using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// A response's own row (V8): its conversation and what its request asked (JSON).
/// </summary>
public sealed record ResponseRow(string Id, string ConversationId, string Request);

/// <summary>How deleting a response went.</summary>
public enum ResponseDeletion
{
    Deleted,
    NotFound,

    /// <summary>Its reply is still being generated: cancel it first.</summary>
    Running,
}

/// <summary>The SQL of /v1/responses beside the turn's own (<see cref="TurnStore"/>): a response found by its id, deleted.</summary>
public sealed class ResponseQueries(MySqlDataSource dataSource)
{
    /// <summary>Whether <paramref name="id"/> could name a response: what <see cref="Ids.NewResponseId"/> makes.</summary>
    public static bool IsResponseId(string id) => id.StartsWith(Ids.ResponsePrefix, StringComparison.Ordinal) && Ids.IsMessageId(id);

    /// <summary>A response of the user's, or null (another user's answers as a missing one).</summary>
    public async Task<ResponseRow?> FindAsync(string id, long userId, CancellationToken cancellationToken)
    {
        if (!IsResponseId(id))
        {
            return null;
        }
        const string sql = """
            SELECT r.conv_id, r.request
            FROM response r
            JOIN conversation_store c ON c.conv_id = r.conv_id AND c.user_id = @user
            WHERE r.id = @id
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@id", id);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new ResponseRow(id, reader.GetString(0), reader.GetString(1))
                : null;
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes a response that ended: its message, its reply and its row, in one batch under its conversation's lock,
    /// taken first (the protocol of <see cref="TurnStore"/>; the response's row is only read before it, unlocked). The
    /// conversation keeps its other turns, and goes with the last one when <paramref name="dropEmptyConversation"/> (a
    /// response that was not to be stored, in a conversation of its own). The rows that followed the turn follow the
    /// row it followed (their parent_no set to it), so a branch keeps its place in the tree; the conversation keeps its
    /// place in the list (updated_at stays).
    /// </summary>
    public async Task<ResponseDeletion> DeleteAsync(string id, long userId, bool dropEmptyConversation, CancellationToken cancellationToken)
    {
        if (!IsResponseId(id))
        {
            return ResponseDeletion.NotFound;
        }
        var sql = $"""
            {UnitOfWork.Begin}
            SET @turn_resp_conv = NULL;
            SELECT c.conv_id INTO @turn_resp_conv FROM conversation_store c
            WHERE c.conv_id = (SELECT r.conv_id FROM response r WHERE r.id = @id) AND c.user_id = @user FOR UPDATE;
            SET @turn_resp_no = NULL, @turn_resp_parent = NULL;
            SELECT message_no, COALESCE(parent_no, message_no - 1) INTO @turn_resp_no, @turn_resp_parent
            FROM message_store WHERE conv_id = @turn_resp_conv AND message_id = @id AND Status <> 'Pending';
            SET @turn_resp_reply = EXISTS (
                SELECT 1 FROM message_store WHERE conv_id = @turn_resp_conv AND message_no = @turn_resp_no + 1 AND role = 'assistant');
            {ConversationTree.KeepFollowersSql("@turn_resp_conv", "@turn_resp_no", "@turn_resp_no + @turn_resp_reply", "@turn_resp_parent", "TRUE")}
            DELETE t FROM message_store u JOIN tool_call t ON t.conv_id = u.conv_id AND t.message_no = u.message_no + 1
            WHERE u.conv_id = @turn_resp_conv AND u.message_id = @id AND u.Status <> 'Pending';
            DELETE m FROM message_store u
            JOIN message_store m ON m.conv_id = u.conv_id
              AND (m.message_no = u.message_no OR (m.message_no = u.message_no + 1 AND m.role = 'assistant'))
            WHERE u.conv_id = @turn_resp_conv AND u.message_id = @id AND u.Status <> 'Pending';
            SET @turn_resp_deleted = ROW_COUNT();
            UPDATE conversation_store
            SET message_count = (SELECT COUNT(*) FROM message_store WHERE conv_id = @turn_resp_conv), updated_at = updated_at
            WHERE conv_id = @turn_resp_conv AND @turn_resp_deleted > 0;
            DELETE FROM response WHERE id = @id AND @turn_resp_deleted > 0;
            DELETE FROM response
            WHERE conv_id = @turn_resp_conv AND @drop_empty AND @turn_resp_deleted > 0
              AND (SELECT message_count FROM conversation_store WHERE conv_id = @turn_resp_conv) = 0;
            DELETE FROM conversation_store
            WHERE conv_id = @turn_resp_conv AND @drop_empty AND @turn_resp_deleted > 0 AND message_count = 0;
            SELECT @turn_resp_conv IS NOT NULL AS found, @turn_resp_deleted AS deleted;
            {UnitOfWork.Commit}
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@id", id);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@drop_empty", dropEmptyConversation);
            ResponseDeletion deletion;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                deletion = reader.GetBoolean(0) ? reader.GetInt64(1) > 0 ? ResponseDeletion.Deleted : ResponseDeletion.Running : ResponseDeletion.NotFound;
                await reader.ReadToEndAsync(cancellationToken);
            }
            return deletion;
        }, cancellationToken);
    }
}
