using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>Reads a row's nullable columns by name.</summary>
internal static class Columns
{
    public static int? GetNullableInt32(this MySqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var ordinal && reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    public static string? GetNullableString(this MySqlDataReader reader, string column) =>
        reader.GetOrdinal(column) is var ordinal && reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static MessageStatus GetStatus(this MySqlDataReader reader, string column) =>
        Enum.Parse<MessageStatus>(reader.GetString(column));
}
