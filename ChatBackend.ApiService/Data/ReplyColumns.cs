using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>Reads a row's nullable columns by name; the SQL of the columns that several queries read the same way.</summary>
internal static class ReplyColumns
{
    /// <summary>
    /// How long a message's turn has been silent (silent_us): since its attempt began or its instance's last progress
    /// write, whichever is later. Needs the message as m and its attempt's progress row as p.
    /// </summary>
    public const string Silence =
        "TIMESTAMPDIFF(MICROSECOND, GREATEST(COALESCE(p.heartbeat_at, m.updated_at), m.updated_at), UTC_TIMESTAMP(6)) AS silent_us";

    /// <summary>The reply columns that <see cref="ReadReply"/> reads, of a reply joined as r.</summary>
    public const string Reply =
        "r.message_id AS reply_id, r.message AS reply, r.token_count AS reply_tokens, r.elapsed_time, r.model, " +
        "r.input_tokens, r.output_tokens, r.finish_reason, r.time_to_first_token, r.tool_calls AS reply_tool_calls";

    /// <summary>The joins that <see cref="Silence"/> and <see cref="Reply"/> need, from the message m.</summary>
    public const string ProgressAndReplyJoins = """
        LEFT JOIN reply_progress p ON p.conv_id = m.conv_id AND p.message_no = m.message_no AND p.attempt = m.attempt
        LEFT JOIN message_store r ON r.conv_id = m.conv_id AND r.message_no = m.message_no + 1 AND r.role = 'assistant'
        """;

    public static int? GetNullableInt32(this MySqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var ordinal && reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    public static string? GetNullableString(this MySqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var ordinal && reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>A nullable DATETIME column, as UTC (every timestamp of the schema is).</summary>
    public static DateTime? GetNullableUtcDateTime(this MySqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var ordinal && reader.IsDBNull(ordinal)
            ? null
            : DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc);

    /// <summary>The reply columns of a row that joined a message to its reply (reply_id, reply, reply_tokens, ...), if any.</summary>
    public static ReplyRecord? ReadReply(this MySqlDataReader reader) => reader.GetNullableString("reply_id") is { } replyId
        ? new ReplyRecord(
            MessageId: replyId,
            Text: reader.GetString("reply"),
            TokenCount: reader.GetNullableInt32("reply_tokens") ?? 0,
            ElapsedMs: reader.GetNullableInt32("elapsed_time") ?? 0,
            Model: reader.GetNullableString("model"),
            InputTokens: reader.GetNullableInt32("input_tokens"),
            OutputTokens: reader.GetNullableInt32("output_tokens"),
            FinishReason: reader.GetNullableString("finish_reason"),
            TimeToFirstTokenMs: reader.GetNullableInt32("time_to_first_token"),
            ToolCalls: reader.GetNullableString("reply_tool_calls"))
        : null;

    public static MessageStatus GetStatus(this MySqlDataReader reader, string column) =>
        Enum.Parse<MessageStatus>(reader.GetString(column));
}
