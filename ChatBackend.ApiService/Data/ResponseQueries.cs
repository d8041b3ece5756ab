using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>A response: its conversation and what its request asked (JSON).</summary>
public sealed record ResponseRow(string Id, string ConversationId, string Request);

/// <summary>How deleting a response went.</summary>
public enum ResponseDeletion
{
    Deleted,
    NotFound,

    /// <summary>Its reply is still being generated: cancel it first.</summary>
    Running,
}

/// <summary>
/// The SQL of /v1/responses beside the turn's own (<see cref="TurnStore"/>): a response found by its id, deleted. A
/// response is its user message's row, which keeps its request (V18), in the conversation its id names
/// (<see cref="Ids.ConversationOfResponse"/>). A response made before V18 has an id that names none: its conversation and
/// its request are in its row of the response table (V8), which goes with it.
/// </summary>
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
        const string sql = $"""
            SELECT m.conv_id, COALESCE(m.request, r.request)
            FROM message_store m
            JOIN conversation_store c ON c.conv_id = m.conv_id AND c.user_id = @user
            LEFT JOIN response r ON r.id = m.message_id AND r.conv_id = m.conv_id
            WHERE m.conv_id = {ConversationOfId} AND m.message_id = @id AND {IsResponse}
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            AddId(command.Parameters, id);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new ResponseRow(id, reader.GetString(0), reader.GetString(1))
                : null;
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes a response that ended: its message, its reply and (made before V18) its row, in one batch under its
    /// conversation's lock, taken first (the protocol of <see cref="TurnStore"/>; an old response's row is only read
    /// before it, unlocked). The conversation keeps its other turns; when <paramref name="forgetting"/> (a response
    /// that was not to be stored) it goes with the last one if the response began it (its request named no
    /// conversation and no previous response; one it continued stays, even empty). The rows that followed the turn
    /// follow the row it followed (their parent_no set to it), so a branch keeps its place in the tree; the
    /// conversation keeps its place in the list (updated_at stays).
    /// </summary>
    public async Task<ResponseDeletion> DeleteAsync(string id, long userId, bool forgetting, CancellationToken cancellationToken)
    {
        if (!IsResponseId(id))
        {
            return ResponseDeletion.NotFound;
        }
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(DeleteSql, connection);
            AddId(command.Parameters, id);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@forgetting", forgetting);
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

    // Deleting a response (DeleteAsync), in one batch. Whether the response began its conversation is read from its
    // request (JSON null and no field read alike).
    private static readonly string DeleteSql = $"""
        {UnitOfWork.Begin}
        SET @turn_resp_conv = NULL;
        SELECT c.conv_id INTO @turn_resp_conv FROM conversation_store c
        WHERE c.conv_id = {ConversationOfId} AND c.user_id = @user FOR UPDATE;
        SET @turn_resp_at = NULL, @turn_resp_parent = NULL, @turn_resp_running = NULL, @turn_resp_began = FALSE;
        SELECT m.message_no, COALESCE(m.parent_no, m.message_no - 1), m.Status = 'Pending',
               COALESCE(JSON_UNQUOTE(JSON_EXTRACT(COALESCE(m.request, r.request), '$.conversation')), 'null') = 'null'
               AND COALESCE(JSON_UNQUOTE(JSON_EXTRACT(COALESCE(m.request, r.request), '$.previous_response_id')), 'null') = 'null'
        INTO @turn_resp_at, @turn_resp_parent, @turn_resp_running, @turn_resp_began
        FROM message_store m LEFT JOIN response r ON r.id = m.message_id AND r.conv_id = m.conv_id
        WHERE m.conv_id = @turn_resp_conv AND m.message_id = @id AND {IsResponse};
        SET @turn_resp_no = IF(@turn_resp_running, NULL, @turn_resp_at);
        SET @turn_resp_reply = EXISTS (
            SELECT 1 FROM message_store WHERE conv_id = @turn_resp_conv AND message_no = @turn_resp_no + 1 AND role = 'assistant');
        {ConversationTree.KeepFollowersSql("@turn_resp_conv", "@turn_resp_no", "@turn_resp_no + @turn_resp_reply", "@turn_resp_parent", "TRUE")}
        DELETE FROM tool_call WHERE conv_id = @turn_resp_conv AND message_no = @turn_resp_no + 1;
        DELETE FROM message_store
        WHERE conv_id = @turn_resp_conv AND (message_no = @turn_resp_no OR (message_no = @turn_resp_no + 1 AND role = 'assistant'));
        SET @turn_resp_deleted = ROW_COUNT();
        UPDATE conversation_store
        SET message_count = (SELECT COUNT(*) FROM message_store WHERE conv_id = @turn_resp_conv), updated_at = updated_at
        WHERE conv_id = @turn_resp_conv AND @turn_resp_deleted > 0;
        DELETE FROM response WHERE id = @id AND @turn_resp_deleted > 0;
        DELETE FROM response
        WHERE conv_id = @turn_resp_conv AND @forgetting AND @turn_resp_began AND @turn_resp_deleted > 0
          AND (SELECT message_count FROM conversation_store WHERE conv_id = @turn_resp_conv) = 0;
        DELETE FROM conversation_store
        WHERE conv_id = @turn_resp_conv AND @forgetting AND @turn_resp_began AND @turn_resp_deleted > 0 AND message_count = 0;
        SELECT @turn_resp_at IS NOT NULL AS found, @turn_resp_deleted AS deleted;
        {UnitOfWork.Commit}
        """;

    // The conversation of response @id: the one its id names (@conv), or for an id made before V18 its response row's.
    private const string ConversationOfId = "COALESCE(@conv, (SELECT o.conv_id FROM response o WHERE o.id = @id))";

    // Whether message row m (joined to its response row r) begins a response: a native message may have any id.
    private const string IsResponse = "(m.request IS NOT NULL OR r.id IS NOT NULL)";

    private static void AddId(MySqlParameterCollection parameters, string id)
    {
        parameters.AddWithValue("@id", id);
        parameters.AddWithValue("@conv", Ids.ConversationOfResponse(id));
    }
}
