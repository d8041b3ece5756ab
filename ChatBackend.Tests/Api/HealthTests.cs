using System.Net;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>
/// Readiness follows the database; liveness does not. Each test has a server of its own, since it stops it (and one
/// sets a global of the server).
/// </summary>
[Trait("Category", "Api")]
public sealed class HealthTests : IAsyncLifetime
{
    private MySqlServer _server = null!;
    private ApiFactory _api = null!;
    private HttpClient _client = null!;
    private string _connectionString = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await MySqlServer.StartAsync();
        _connectionString = _server.ConnectionString(await _server.CreateDatabaseAsync("health"));
        await DatabaseFixture.MigrateAsync(_connectionString);
        _api = new ApiFactory(_connectionString + ";Connection Timeout=3");
        _client = _api.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task HealthIs503WhileTheDatabaseIsStoppedAndSendsGet503ThenBothRecover()
    {
        using (var healthy = await _client.GetAsync("/health", TestContext.Current.CancellationToken))
        {
            Assert.Equal("Healthy", (await healthy.ExpectAsync(HttpStatusCode.OK)).Str("status"));
        }
        var userId = ChatCalls.NewUserId();
        var conversationId = (await _client.SendOkAsync("before the outage", userId)).Str("conversation_id");

        await _server.StopAsync();

        using (var unhealthy = await _client.GetAsync("/health", TestContext.Current.CancellationToken))
        {
            var body = await unhealthy.ExpectAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", body.Str("status"));
            Assert.DoesNotContain("Exception", body.GetRawText());
        }
        using (var alive = await _client.GetAsync("/alive", TestContext.Current.CancellationToken))
        {
            await alive.ExpectAsync(HttpStatusCode.OK);
        }
        using (var send = await _client.SendJsonAsync("during the outage", userId, "outage-1", conversationId))
        {
            var problem = await send.ExpectAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal("application/problem+json", send.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("127.0.0.1", problem.GetRawText());
            Assert.DoesNotContain("MySql", problem.GetRawText());
        }
        using (var read = await _client.GetAsync($"/get-conversation-history/{conversationId}", TestContext.Current.CancellationToken))
        {
            await read.ExpectAsync(HttpStatusCode.ServiceUnavailable);
        }

        await _server.StartAgainAsync();

        using (var recovered = await _client.GetAsync("/health", TestContext.Current.CancellationToken))
        {
            Assert.Equal("Healthy", (await recovered.ExpectAsync(HttpStatusCode.OK)).Str("status"));
        }
        var after = await _client.SendOkAsync("after the outage", userId, conversationId, "outage-1");
        Assert.Equal(4, after.Int("message_count"));
    }

    [Fact]
    public async Task AfterTheDatabaseRestartsWhileTheApiIsIdleHealthIsHealthyAndNoSendFails()
    {
        // Twenty sends at once leave that many connections in the pool, all of which die with the server.
        var userId = ChatCalls.NewUserId();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => _client.SendOkAsync($"before the restart {i}", userId)));

        await _server.StopAsync();
        await _server.StartAgainAsync();

        using (var health = await _client.GetAsync("/health", TestContext.Current.CancellationToken))
        {
            Assert.Equal("Healthy", (await health.ExpectAsync(HttpStatusCode.OK)).Str("status"));
        }
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            using var send = await _client.SendJsonAsync($"after the restart {i}", userId, ChatCalls.NewMessageId(), conversationId: null);
            statuses.Add(send.StatusCode);
        }
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Fact]
    public async Task AfterTheDatabaseRestartsUnderLoadNoSendFailsOnceItAnswersAgainAndNothingAcknowledgedIsLost()
    {
        var userId = ChatCalls.NewUserId();
        using var stop = new CancellationTokenSource();
        var sends = new System.Collections.Concurrent.ConcurrentBag<(long Started, HttpStatusCode Status, string? ConversationId)>();
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                using var send = await _client.SendJsonAsync($"load {worker}-{i}", userId, ChatCalls.NewMessageId(), conversationId: null);
                var conversationId = send.StatusCode == HttpStatusCode.OK ? (await send.ExpectAsync(HttpStatusCode.OK)).Str("conversation_id") : null;
                sends.Add((started, send.StatusCode, conversationId));
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        await _server.StopAsync();
        await _server.StartAgainAsync();
        var answering = System.Diagnostics.Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        var after = sends.Where(send => send.Started > answering).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, send => Assert.Equal(HttpStatusCode.OK, send.Status));
        Assert.Contains(sends, send => send.Started < answering && send.Status == HttpStatusCode.OK);
        // Every acknowledged send is there, with its reply.
        await using var connection = new MySqlConnector.MySqlConnection(_connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlConnector.MySqlCommand(
            "SELECT conv_id FROM conversation_store WHERE user_id = @user AND message_count = 2", connection);
        command.Parameters.AddWithValue("@user", userId);
        var stored = new HashSet<string>();
        await using (var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                stored.Add(reader.GetString(0));
            }
        }
        Assert.All(sends.Where(send => send.Status == HttpStatusCode.OK), send => Assert.Contains(send.ConversationId!, stored));
    }

    [Fact]
    public async Task ASendThatWaitsOutAConversationsLockRunsAgainAndSucceeds()
    {
        await using var holder = new MySqlConnector.MySqlConnection(_connectionString + ";Pooling=false");
        await holder.OpenAsync(TestContext.Current.CancellationToken);
        // Sessions opened from now on give up on a lock after 1 s (1205) instead of 50 s.
        await Execute(holder, "SET GLOBAL innodb_lock_wait_timeout = 1");
        var userId = ChatCalls.NewUserId();
        var conversationId = (await _client.SendOkAsync("before the lock", userId)).Str("conversation_id");

        // Another transaction holds the conversation's row for 1.5 s: the send's first try waits out its lock.
        await Execute(holder, "START TRANSACTION");
        await Execute(holder, $"SELECT message_count FROM conversation_store WHERE conv_id = '{conversationId}' FOR UPDATE");
        var send = _client.SendJsonAsync("behind the lock", userId, ChatCalls.NewMessageId(), conversationId);
        await Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken);
        await Execute(holder, "COMMIT");

        using var response = await send;
        Assert.Equal(4, (await response.ExpectAsync(HttpStatusCode.OK)).Int("message_count"));
        var history = await _client.HistoryAsync(conversationId);
        Assert.Equal(4, history.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task ASendThatLosesADeadlockRunsAgainAndSucceeds()
    {
        var userId = ChatCalls.NewUserId();
        var conversationId = (await _client.SendOkAsync("before the deadlock", userId)).Str("conversation_id");
        await using var other = new MySqlConnector.MySqlConnection(_connectionString + ";Pooling=false");
        await other.OpenAsync(TestContext.Current.CancellationToken);
        await Execute(other, "CREATE TABLE IF NOT EXISTS deadlock_weight (id INT PRIMARY KEY)");

        // The other transaction is made the heavier (InnoDB rolls back the lighter), takes the conversation's message
        // rows and the gap after them, so that the send, holding the conversation row, waits to insert its message;
        // then it asks for the conversation row: a cycle, and the send's transaction is the victim (1213).
        await Execute(other, "START TRANSACTION");
        await Execute(other, "INSERT INTO deadlock_weight (id) WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n");
        await Execute(other, $"SELECT message_no FROM message_store WHERE conv_id = '{conversationId}' FOR UPDATE");
        var send = _client.SendJsonAsync("into the deadlock", userId, ChatCalls.NewMessageId(), conversationId);
        if (await Task.WhenAny(send, WaitForLockWaitAsync(other)) == send)
        {
            Assert.Fail($"The send did not wait on the lock: {await (await send).Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        }
        await Execute(other, $"SELECT message_count FROM conversation_store WHERE conv_id = '{conversationId}' FOR UPDATE");
        await Task.Delay(200, TestContext.Current.CancellationToken);
        await Execute(other, "ROLLBACK");

        using var response = await send.Bounded();
        Assert.Equal(4, (await response.ExpectAsync(HttpStatusCode.OK)).Int("message_count"));
        Assert.Contains("LATEST DETECTED DEADLOCK", await InnoDbStatusAsync(other));
        Assert.Equal(4, (await _client.HistoryAsync(conversationId)).GetProperty("messages").GetArrayLength());
    }

    // Up to 10 s for the send to show as waiting on a lock, then on regardless, as before. Polled without a deadline on the
    // command itself: a timeout that cancelled a query on this connection left it clearing the cancellation when the
    // test used it next ("Expected state to be Connected but was ClearingPendingCancellation", seen once).
    private static Task<bool> WaitForLockWaitAsync(MySqlConnector.MySqlConnection connection) => Eventually.HoldsWithinAsync(async () =>
    {
        await using var command = new MySqlConnector.MySqlCommand(
            "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }, TimeSpan.FromSeconds(10));

    private static async Task<string> InnoDbStatusAsync(MySqlConnector.MySqlConnection connection)
    {
        await using var command = new MySqlConnector.MySqlCommand("SHOW ENGINE INNODB STATUS", connection);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? reader.GetString("Status") : "";
    }

    private static async Task Execute(MySqlConnector.MySqlConnection connection, string sql)
    {
        await using var command = new MySqlConnector.MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
