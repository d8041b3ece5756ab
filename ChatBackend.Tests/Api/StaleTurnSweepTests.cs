using System.Net;
using ChatBackend.ApiService.Data;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>
/// The stale rows' sweep ends a turn that no instance runs any more (Pending, silent longer than any turn may run):
/// Error with error_code 'abandoned', which a retry with the same message_id then takes up in place. A turn that is
/// still within its time is left alone.
/// </summary>
[Trait("Category", "Api")]
public sealed class StaleTurnSweepTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
{
    [Fact]
    public async Task APendingTurnSilentLongerThanATurnMayRunIsEndedAsAbandonedAndARetryCompletesItInPlace()
    {
        using var client = StartApi();
        var user = ChatCalls.NewUserId();
        var conversationId = (await client.SendOkAsync("first", user)).Str("conversation_id");
        var (abandoned, running) = (ChatCalls.NewMessageId(), ChatCalls.NewMessageId());
        // Two turns begun as BeginTurnAsync begins them (numbers 3 and 5, their replies' 4 and 6 reserved): one whose
        // instance died 10 minutes ago, one begun just now.
        await ExecuteAsync("""
            INSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at)
            VALUES ('user', @conv, 3, @abandoned, 'lost in a crash', 4, 'Pending', UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE, UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE),
                   ('user', @conv, 5, @running, 'still thinking', 3, 'Pending', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
            UPDATE conversation_store SET last_message_no = 6, message_count = 4 WHERE conv_id = @conv;
            """, conversationId, abandoned, running);

        await using (var dataSource = new MySqlDataSource(ConnectionString))
        {
            await new StaleRowsPurge(dataSource, NullLogger<StaleRowsPurge>.Instance, TimeSpan.FromMinutes(2)).PurgeAsync(CancellationToken.None);
        }

        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid AND Status = 'Error' AND error_code = 'abandoned'", abandoned));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid AND Status = 'Pending'", running));
        using var retry = await client.SendJsonAsync("lost in a crash", user, abandoned, conversationId);
        var answered = await retry.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(conversationId, answered.Str("conversation_id"));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid AND Status = 'Success' AND message_no = 3", abandoned));
        Assert.Equal(1, await ScalarAsync(
            "SELECT COUNT(*) FROM message_store r JOIN message_store u ON u.conv_id = r.conv_id AND r.message_no = u.message_no + 1 " +
            "WHERE u.message_id = @mid AND r.role = 'assistant'", abandoned));
    }

    private async Task ExecuteAsync(string sql, string conversationId, string abandoned, string running)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@abandoned", abandoned);
        command.Parameters.AddWithValue("@running", running);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }
}
