using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>A tool call the server ran for a turn (V15), as recorded: <see cref="Status"/> started, completed or failed.</summary>
public sealed record RecordedCall(
    int Attempt, int CallNo, int Round, string CallId, string ServerLabel, string Name, string Arguments, string? Output,
    string? Error, string Status);

/// <summary>
/// The tool_call rows of running turns (V15): a call is recorded before it runs and when it ends, each one statement;
/// a turn taken over reads its earlier attempts' calls, those that never ended marked failed in the same batch.
/// </summary>
public sealed class ToolCallStore(MySqlDataSource dataSource)
{
    /// <summary>What the model is told of a call whose instance died while it ran: it is not run again.</summary>
    public const string Interrupted = "The call was interrupted (the server that ran it stopped); it was not run again.";

    public Task StartAsync(StartedTurn turn, RecordedCall call, CancellationToken cancellationToken) => RunAsync("""
        INSERT INTO tool_call (conv_id, message_no, attempt, call_no, round_no, call_id, server_label, name, arguments, status, started_at)
        VALUES (@conv, @reply_no, @attempt, @call_no, @round, @call_id, @label, @name, @arguments, 'started', UTC_TIMESTAMP(6))
        """, turn, call.CallNo, parameters =>
    {
        parameters.AddWithValue("@round", call.Round);
        parameters.AddWithValue("@call_id", call.CallId);
        parameters.AddWithValue("@label", call.ServerLabel);
        parameters.AddWithValue("@name", call.Name);
        parameters.AddWithValue("@arguments", call.Arguments);
    }, cancellationToken);

    public Task EndAsync(StartedTurn turn, int callNo, string? output, string? error, CancellationToken cancellationToken) => RunAsync("""
        UPDATE tool_call SET output = @output, error = @error, status = IF(@error IS NULL, 'completed', 'failed'), ended_at = UTC_TIMESTAMP(6)
        WHERE conv_id = @conv AND message_no = @reply_no AND attempt = @attempt AND call_no = @call_no
        """, turn, callNo, parameters =>
    {
        parameters.AddWithValue("@output", output);
        parameters.AddWithValue("@error", error);
    }, cancellationToken);

    /// <summary>The calls of the turn's earlier attempts, in the order they were made; those never ended now failed.</summary>
    public async Task<IReadOnlyList<RecordedCall>> EarlierAsync(StartedTurn turn, CancellationToken cancellationToken)
    {
        const string sql = """
            UPDATE tool_call SET status = 'failed', error = @interrupted, ended_at = UTC_TIMESTAMP(6)
            WHERE conv_id = @conv AND message_no = @reply_no AND attempt < @attempt AND status = 'started';
            SELECT attempt, call_no, round_no, call_id, server_label, name, arguments, output, error, status
            FROM tool_call WHERE conv_id = @conv AND message_no = @reply_no AND attempt < @attempt
            ORDER BY attempt, call_no;
            """;
        return await dataSource.RunAsync<IReadOnlyList<RecordedCall>>(async connection =>
        {
            await using var command = Command(sql, connection, turn, callNo: 0);
            command.Parameters.AddWithValue("@interrupted", Interrupted);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var calls = new List<RecordedCall>();
            while (await reader.ReadAsync(cancellationToken))
            {
                calls.Add(new RecordedCall(
                    reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetString(3), reader.GetString(4),
                    reader.GetString(5), reader.GetString(6), reader.GetNullableString("output"), reader.GetNullableString("error"),
                    reader.GetString(9)));
            }
            return calls;
        }, cancellationToken);
    }

    private async Task RunAsync(
        string sql, StartedTurn turn, int callNo, Action<MySqlParameterCollection> parameters, CancellationToken cancellationToken) =>
        await dataSource.RunAsync(async connection =>
        {
            await using var command = Command(sql, connection, turn, callNo);
            parameters(command.Parameters);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static MySqlCommand Command(string sql, MySqlConnection connection, StartedTurn turn, int callNo)
    {
        var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@conv", turn.ConversationId);
        command.Parameters.AddWithValue("@reply_no", turn.ReplyNo);
        command.Parameters.AddWithValue("@attempt", turn.Attempt);
        command.Parameters.AddWithValue("@call_no", callNo);
        return command;
    }
}
