using System.Globalization;
using System.Text;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// A running turn's text so far and its tool events (JSON; null when it has none, or none since they were last written),
/// as its instance writes them.
/// </summary>
public sealed record ReplyProgress(string ConversationId, int MessageNo, int Attempt, string Text, string? ToolEvents);

/// <summary>A running turn, named by the row of its progress.</summary>
public sealed record ProgressKey(string ConversationId, int MessageNo, int Attempt);

/// <summary>
/// A message and its reply as another instance sees them: the status, the text and tool events (JSON) generated so far
/// while Pending (and how long its instance has been silent), the stored reply once answered.
/// </summary>
public sealed record ReplyState(
    string ConversationId, string MessageId, long UserId, string Message, int MessageNo, MessageStatus Status,
    TurnError? Error, int Attempt, TimeSpan Silence, string? ProgressText, int MessageCount, ReplyRecord? Reply,
    MessageKind Kind, string? SendSettings = null, string? ProgressToolEvents = null);

/// <summary>
/// The SQL of replies while they are generated (V4, V17): the generating instance's batched progress writes, a cancel
/// from another instance, and the reads of an instance that follows a reply it does not generate.
/// </summary>
public sealed class ReplyProgressStore(MySqlDataSource dataSource)
{
    // Rows at most per statement, so that a statement stays far below max_allowed_packet (16 MiB by default).
    private const int RowsPerStatement = 200;

    /// <summary>
    /// One round trip for all of an instance's running turns: drops the rows of turns that ended, writes the text of
    /// those that grew, refreshes the heartbeat of all of them, and answers which of them another instance asked to
    /// cancel.
    /// </summary>
    public async Task<IReadOnlyList<ProgressKey>> FlushAsync(
        string owner, IReadOnlyCollection<ProgressKey> ended, IReadOnlyCollection<ReplyProgress> grown,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new MySqlCommand { Connection = connection };
        var sql = new StringBuilder();
        var parameter = 0;
        string Add(object? value)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"@p{parameter++}");
            command.Parameters.AddWithValue(name, value);
            return name;
        }

        foreach (var chunk in ended.Chunk(RowsPerStatement))
        {
            sql.Append("DELETE FROM reply_progress WHERE ");
            sql.AppendJoin(" OR ", chunk.Select(key =>
                $"(conv_id = {Add(key.ConversationId)} AND message_no = {Add(key.MessageNo)} AND attempt = {Add(key.Attempt)})"));
            sql.Append(";\n");
        }
        var ownerName = Add(owner);
        foreach (var chunk in grown.Chunk(RowsPerStatement))
        {
            sql.Append("INSERT INTO reply_progress (conv_id, message_no, attempt, owner, text, tool_events, heartbeat_at) VALUES ");
            sql.AppendJoin(", ", chunk.Select(progress =>
                $"({Add(progress.ConversationId)}, {Add(progress.MessageNo)}, {Add(progress.Attempt)}, {ownerName}, {Add(progress.Text)}, {Add(progress.ToolEvents)}, UTC_TIMESTAMP(6))"));
            sql.Append(" ON DUPLICATE KEY UPDATE owner = VALUES(owner), text = VALUES(text), tool_events = COALESCE(VALUES(tool_events), tool_events), heartbeat_at = VALUES(heartbeat_at);\n");
        }
        sql.Append($"UPDATE reply_progress SET heartbeat_at = UTC_TIMESTAMP(6) WHERE owner = {ownerName};\n");
        sql.Append($"SELECT conv_id, message_no, attempt FROM reply_progress WHERE owner = {ownerName} AND cancel_requested = 1;");
        command.CommandText = sql.ToString();

        var cancels = new List<ProgressKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        do
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                cancels.Add(new ProgressKey(reader.GetString("conv_id"), reader.GetInt32("message_no"), reader.GetInt32("attempt")));
            }
        }
        while (await reader.NextResultAsync(cancellationToken));
        return cancels;
    }

    /// <summary>Asks the instance that generates the attempt to stop it; it sees the flag with its next write.</summary>
    public async Task RequestCancelAsync(ProgressKey key, CancellationToken cancellationToken)
    {
        // The row of a turn whose instance has not written yet gets the message's own time as its heartbeat: no sign
        // of life beyond what the message shows, and far from StaleRowsPurge's hour (a purge would take the flag).
        const string sql = """
            INSERT INTO reply_progress (conv_id, message_no, attempt, owner, text, cancel_requested, heartbeat_at)
            VALUES (@conv, @no, @attempt, NULL, '', 1,
                    COALESCE((SELECT updated_at FROM message_store WHERE conv_id = @conv AND message_no = @no), UTC_TIMESTAMP(6)))
            ON DUPLICATE KEY UPDATE cancel_requested = 1
            """;
        await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", key.ConversationId);
            command.Parameters.AddWithValue("@no", key.MessageNo);
            command.Parameters.AddWithValue("@attempt", key.Attempt);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>A user's message with its progress or reply, or null when the conversation is not the user's or has no such message.</summary>
    public async Task<ReplyState?> GetReplyStateAsync(
        string conversationId, long userId, string messageId, CancellationToken cancellationToken)
    {
        if (!Ids.CanExist(conversationId, messageId))
        {
            return null;
        }
        const string sql = $"""
            SELECT m.role, m.message, m.tool_calls AS message_tool_calls, m.settings AS send_settings, m.message_no, m.Status, m.error_code, m.attempt,
                   c.message_count, p.text AS progress, p.tool_events AS progress_tool_events,
                   {ReplyColumns.Silence}, {ReplyColumns.Reply}
            FROM message_store m
            JOIN conversation_store c ON c.conv_id = m.conv_id
            {ReplyColumns.ProgressAndReplyJoins}
            WHERE m.conv_id = @conv AND m.message_id = @mid AND m.role <> 'assistant' AND c.user_id = @user
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@mid", messageId);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            return new ReplyState(
                conversationId, messageId, userId,
                Message: reader.GetString("message"),
                MessageNo: reader.GetInt32("message_no"),
                Status: reader.GetStatus("Status"),
                Error: TurnErrors.Parse(reader.GetNullableString("error_code")),
                Attempt: reader.GetInt32("attempt"),
                Silence: TimeSpan.FromMicroseconds(reader.GetInt64("silent_us")),
                ProgressText: reader.GetNullableString("progress"),
                MessageCount: reader.GetInt32("message_count"),
                Reply: reader.ReadReply(),
                Kind: reader.GetString("role") == MessageKind.User.Role ? MessageKind.User
                    : new MessageKind(reader.GetString("role"), reader.GetNullableString("message_tool_calls")),
                SendSettings: reader.GetNullableString("send_settings"),
                ProgressToolEvents: reader.GetNullableString("progress_tool_events"));
        }, cancellationToken);
    }
}
