using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>Reads a row's nullable columns by name.</summary>
internal static class Columns
{
    public static int? GetNullableInt32(this MySqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var ordinal && reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    public static string? GetNullableString(this MySqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var ordinal && reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

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
            TimeToFirstTokenMs: reader.GetNullableInt32("time_to_first_token"))
        : null;

    public static MessageStatus GetStatus(this MySqlDataReader reader, string column) =>
        Enum.Parse<MessageStatus>(reader.GetString(column));
}
