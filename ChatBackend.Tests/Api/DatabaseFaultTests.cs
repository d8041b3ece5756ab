using System.Collections.Concurrent;
using System.Net;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>
/// The database failing under the API: a COMMIT that fails at the end of any of its batches reaches the code (a 503
/// and nothing half-stored, never a 200 for a reply that was not kept), and a restart under concurrent sends gives no
/// 500 and loses or doubles nothing. Each test has a private server, since it blocks or restarts it.
/// </summary>
[Trait("Category", "Api")]
public sealed class DatabaseFaultTests : IAsyncLifetime
{
    private MySqlServer _server = null!;
    private ApiFactory _api = null!;
    private string _connectionString = "";

    private ScriptedChatClient Model { get; } = new();

    private HttpClient Client { get; set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await MySqlServer.StartAsync();
        // A blocked COMMIT then fails within a second (1205) instead of waiting for the block to end.
        await ExecuteAsync(_server.ConnectionString(), "SET GLOBAL lock_wait_timeout = 1");
        _connectionString = _server.ConnectionString(await _server.CreateDatabaseAsync("faults"));
        await DatabaseFixture.MigrateAsync(_connectionString);
        _api = new ApiFactory(_connectionString, Model);
        Client = _api.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _api.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ACommitThatFailsAtTheEndOfEachBatchIsSeenAndAnswered503WithNothingHalfStored()
    {
        var user = ChatCalls.NewUserId();
        var answered = await Client.SendOkAsync("first", user);
        var conversationId = answered.Str("conversation_id");

        // The first transaction of a new conversation, and of a follow-up (whose batch reads a row before its COMMIT).
        await using (await BlockCommitsAsync())
        {
            using var started = await Client.SendJsonAsync("new one", user, ChatCalls.NewMessageId());
            using var continued = await Client.SendJsonAsync("follow-up", user, "follow-1", conversationId);
            await started.ExpectAsync(HttpStatusCode.ServiceUnavailable);
            await continued.ExpectAsync(HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(1L, await CountAsync("SELECT COUNT(*) FROM conversation_store WHERE user_id = @user", user));
        Assert.Equal(0L, await CountAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", "follow-1"));

        // The second transaction: the model answers while commits are blocked, so the reply's COMMIT fails.
        IAsyncDisposable? block = null;
        Model.Behaviour = async (messages, _) =>
        {
            block = await BlockCommitsAsync();
            return ScriptedChatClient.Echo(messages);
        };
        using (var ended = await Client.SendJsonAsync("answered while blocked", user, "follow-2", conversationId))
        {
            await ended.ExpectAsync(HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(0L, await CountAsync(
            "SELECT COUNT(*) FROM message_store WHERE conv_id = (SELECT conv_id FROM message_store WHERE message_id = @mid) " +
            "AND role = 'assistant' AND message_no > (SELECT message_no FROM message_store WHERE message_id = @mid)", "follow-2"));

        // The delete, whose batch reads its count before its COMMIT.
        using (var deleted = await Client.DeleteAsync($"/conversations/{conversationId}?user_id={user}", TestContext.Current.CancellationToken))
        {
            await deleted.ExpectAsync(HttpStatusCode.ServiceUnavailable);
        }
        await block!.DisposeAsync();
        Model.Behaviour = null;

        // Nothing was lost: the conversation is there with the message whose reply was not stored (its first
        // transaction did commit), and that send is answered on retry, in place.
        Assert.Equal(3, (await Client.HistoryAsync(conversationId, user)).Int("message_count"));
        var retried = await RetryUntilAnsweredAsync("answered while blocked", user, "follow-2", conversationId);
        Assert.Equal("echo: answered while blocked", retried.Str("message"));
        Assert.Equal(4, (await Client.HistoryAsync(conversationId, user)).Int("message_count"));
    }

    [Fact]
    public async Task RestartingTheDatabaseUnderConcurrentSendsGivesNo500AndLosesOrDoublesNothing()
    {
        var acknowledged = new ConcurrentBag<(long User, string MessageId, string Message, string ConversationId)>();
        var unavailable = new ConcurrentBag<(long User, string MessageId, string Message)>();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        using var stop = new CancellationTokenSource();

        async Task SendLoopAsync()
        {
            var user = ChatCalls.NewUserId();
            string? conversationId = null;
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var (messageId, message) = (ChatCalls.NewMessageId(), $"message {i}");
                using var response = await Client.SendJsonAsync(message, user, messageId, conversationId);
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var reply = await response.ExpectAsync(HttpStatusCode.OK);
                    conversationId = reply.Str("conversation_id");
                    acknowledged.Add((user, messageId, message, conversationId));
                }
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable && conversationId is not null)
                {
                    unavailable.Add((user, messageId, message));
                }
            }
        }

        var senders = Enumerable.Range(0, 6).Select(_ => Task.Run(SendLoopAsync)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await _server.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        await _server.StartAgainAsync();
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(senders).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.DoesNotContain(HttpStatusCode.InternalServerError, statuses);
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        Assert.NotEmpty(acknowledged);
        foreach (var (_, messageId, _, _) in acknowledged)
        {
            // Stored once, answered, with its one reply right after it.
            Assert.Equal(1L, await CountAsync(
                "SELECT COUNT(*) FROM message_store u JOIN message_store r ON r.conv_id = u.conv_id " +
                "AND r.message_no = u.message_no + 1 AND r.role = 'assistant' " +
                "WHERE u.message_id = @mid AND u.Status = 'Success' AND r.Status = 'Success'", messageId));
        }
        // A 503 leaves the message stored or retryable: a retry with the same ids is answered, once.
        foreach (var (user, messageId, message) in unavailable.Take(5))
        {
            var conversation = acknowledged.First(turn => turn.User == user).ConversationId;
            await RetryUntilAnsweredAsync(message, user, messageId, conversation);
            Assert.Equal(1L, await CountAsync("SELECT COUNT(*) FROM message_store WHERE message_id = @mid", messageId));
        }
    }

    // A 409 (still in progress) or 503 turns into the reply once the turn counts as abandoned (3 s of silence).
    private async Task<System.Text.Json.JsonElement> RetryUntilAnsweredAsync(
        string message, long user, string messageId, string conversationId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await Client.SendJsonAsync(message, user, messageId, conversationId);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.ExpectAsync(HttpStatusCode.OK);
            }
            Assert.True(response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable,
                $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(500, timeout.Token);
        }
    }

    // MariaDB's backup lock: statements run, every COMMIT waits (and fails after lock_wait_timeout) until it ends.
    private async Task<IAsyncDisposable> BlockCommitsAsync()
    {
        var connection = new MySqlConnection(_server.ConnectionString() + ";Pooling=false");
        await connection.OpenAsync();
        await using (var command = new MySqlCommand("BACKUP STAGE START; BACKUP STAGE BLOCK_COMMIT;", connection))
        {
            await command.ExecuteNonQueryAsync();
        }
        return new CommitBlock(connection);
    }

    private sealed class CommitBlock(MySqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using (var command = new MySqlCommand("BACKUP STAGE END", connection))
            {
                await command.ExecuteNonQueryAsync();
            }
            await connection.DisposeAsync();
        }
    }

    private async Task<long> CountAsync(string sql, object value)
    {
        await using var connection = new MySqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue(value is string ? "@mid" : "@user", value);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
