using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>The reads of stored conversations: a conversation's history.</summary>
public sealed class ConversationQueries(MySqlDataSource dataSource)
{
    /// <summary>A conversation with every stored message in order, or null when it does not exist or is not the given user's.</summary>
    public async Task<Conversation?> GetConversationAsync(string conversationId, long? userId, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT user_id, message_count FROM conversation_store WHERE conv_id = @conv;
            SELECT role, message, message_no, message_id, Status, elapsed_time, created_at,
                   model, input_tokens, output_tokens, finish_reason, time_to_first_token, error_code
            FROM message_store WHERE conv_id = @conv ORDER BY message_no;
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken) || (userId is { } user && reader.GetInt64("user_id") != user))
            {
                return null;
            }
            var messageCount = reader.GetInt32("message_count");
            await reader.NextResultAsync(cancellationToken);
            return new Conversation(conversationId, messageCount, await ReadMessagesAsync(reader, cancellationToken));
        }, cancellationToken);
    }

    // Reads the rest of the reader's current result set as messages, finding each column once.
    private static async Task<List<StoredMessage>> ReadMessagesAsync(MySqlDataReader reader, CancellationToken cancellationToken)
    {
        var role = reader.GetOrdinal("role");
        var message = reader.GetOrdinal("message");
        var messageNo = reader.GetOrdinal("message_no");
        var messageId = reader.GetOrdinal("message_id");
        var status = reader.GetOrdinal("Status");
        var elapsed = reader.GetOrdinal("elapsed_time");
        var createdAt = reader.GetOrdinal("created_at");
        var model = reader.GetOrdinal("model");
        var inputTokens = reader.GetOrdinal("input_tokens");
        var outputTokens = reader.GetOrdinal("output_tokens");
        var finishReason = reader.GetOrdinal("finish_reason");
        var timeToFirstToken = reader.GetOrdinal("time_to_first_token");
        var errorCode = reader.GetOrdinal("error_code");

        var messages = new List<StoredMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new StoredMessage(
                Role: reader.GetString(role),
                Message: reader.GetString(message),
                MessageNo: reader.GetInt32(messageNo),
                MessageId: reader.GetString(messageId),
                Status: Enum.Parse<MessageStatus>(reader.GetString(status)),
                ElapsedMs: NullableInt(elapsed),
                CreatedAt: DateTime.SpecifyKind(reader.GetDateTime(createdAt), DateTimeKind.Utc),
                Model: NullableString(model),
                InputTokens: NullableInt(inputTokens),
                OutputTokens: NullableInt(outputTokens),
                FinishReason: NullableString(finishReason),
                TimeToFirstTokenMs: NullableInt(timeToFirstToken),
                ErrorCode: NullableString(errorCode)));
        }
        return messages;

        int? NullableInt(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
        string? NullableString(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    }
}
