using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>
/// ChatBackend on a three-node MariaDB Galera cluster on loopback (<see cref="GaleraCluster"/>): API instances on
/// two nodes writing at once (multi-primary), and behind haproxy to one writer. Nothing acknowledged is lost or stored
/// twice, every reply directly follows its message, no status is a 500, a node's death and a partition answer 503 and
/// are recovered from, and two migrators on two nodes of a new database both succeed.
/// </summary>
[Trait("Category", "Galera")]
[Collection(RunsAlone.Name)]
public sealed class GaleraClusterTests(GaleraFixture fixture) : IClassFixture<GaleraFixture>, IAsyncDisposable
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(90);
    private readonly List<ApiProcess> _apis = [];
    private readonly DateTime _started = DateTime.UtcNow.AddSeconds(-1);
    private GaleraCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task SendsIntoOneConversationThroughTwoNodesAtOnceAreEachStoredOnceWithTheReplyRightAfter()
    {
        var (a, b) = (await ApiAsync(Cluster.NodeConnectionString(1, GaleraFixture.Database)), await ApiAsync(Cluster.NodeConnectionString(2, GaleraFixture.Database)));
        var user = ChatCalls.NewUserId();
        var conversationId = (await a.SendOkAsync("first", user)).Str("conversation_id");
        var sends = new Sends();

        for (var round = 0; round < 5; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
                sends.UntilAnsweredAsync(i % 2 == 0 ? a : b, $"round {round} send {i}", user, conversationId)));
        }

        sends.AssertOnlyAnsweredOrUnavailable(_apis);
        Assert.Equal(100, sends.Acknowledged.Count);
        await AssertStoredOnceEachAsync(sends, expectedConversations: [conversationId], extraTurns: 1);
    }

    [Fact]
    public async Task NewConversationsThroughTwoNodesAtOnceAreEachStoredWhole()
    {
        var (a, b) = (await ApiAsync(Cluster.NodeConnectionString(1, GaleraFixture.Database)), await ApiAsync(Cluster.NodeConnectionString(2, GaleraFixture.Database)));
        var sends = new Sends();

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            sends.UntilAnsweredAsync(i % 2 == 0 ? a : b, $"new conversation {i}", ChatCalls.NewUserId(), conversationId: null)));

        sends.AssertOnlyAnsweredOrUnavailable(_apis);
        Assert.Equal(100, sends.Acknowledged.Count);
        await AssertStoredOnceEachAsync(sends);
    }

    [Fact]
    public async Task AReadAndAFollowUpRightAfterASendSeeItThroughAnotherNode()
    {
        var (a, b) = (await ApiAsync(Cluster.NodeConnectionString(1, GaleraFixture.Database)), await ApiAsync(Cluster.NodeConnectionString(2, GaleraFixture.Database)));
        for (var i = 0; i < 30; i++)
        {
            var user = ChatCalls.NewUserId();
            var conversationId = (await a.SendOkAsync($"hello {i}", user)).Str("conversation_id");

            var history = await b.HistoryAsync(conversationId);
            Assert.Equal(2, history.Int("message_count"));
            Assert.Equal(2, history.GetProperty("messages").GetArrayLength());
            var followUp = await b.SendOkAsync($"and then {i}", user, conversationId);
            Assert.Equal(4, followUp.Int("message_count"));
            Assert.Equal(4, (await a.HistoryAsync(conversationId)).GetProperty("messages").GetArrayLength());
        }
    }

    [Fact]
    public async Task ANodeCutOffFromTheOthersIsUnhealthyAndAnswers503UntilItIsBack()
    {
        var c = await ApiAsync(Cluster.NodeConnectionString(3, GaleraFixture.Database));
        await c.SendOkAsync("before", ChatCalls.NewUserId());
        try
        {
            await Cluster.IsolateNodeAsync(3, isolated: true);

            await WaitForHealthAsync(c, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
            using var send = await c.SendJsonAsync("while cut off", ChatCalls.NewUserId(), ChatCalls.NewMessageId());
            await send.ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.NotNull(send.Headers.RetryAfter);
        }
        finally
        {
            await Cluster.IsolateNodeAsync(3, isolated: false);
        }
        await WaitForHealthAsync(c, HttpStatusCode.OK, Recovery);
        await c.SendOkAsync("after", ChatCalls.NewUserId());
    }

    [Fact]
    public async Task ANodeKilledUnderMultiPrimaryLoadCostsOnlyHonest503sAndLosesNothingAcknowledged()
    {
        var (a, b) = (await ApiAsync(Cluster.NodeConnectionString(1, GaleraFixture.Database)), await ApiAsync(Cluster.NodeConnectionString(2, GaleraFixture.Database)));
        var sends = new Sends();
        using var stop = new CancellationTokenSource();
        // Each client sends through its own instance, and retries a 503 or 409 with the same message_id through the
        // other, as a client behind a load balancer would.
        var load = Enumerable.Range(0, 8).Select(i => sends.ConversationsAsync(i % 2 == 0 ? a : b, i % 2 == 0 ? b : a, stop.Token)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);

        await Cluster.KillNodeAsync(2);
        await Task.Delay(TimeSpan.FromSeconds(4), TestContext.Current.CancellationToken);
        var restart = Stopwatch.StartNew();
        await Cluster.StartNodeAsync(2);
        await WaitForHealthAsync(b, HttpStatusCode.OK, Recovery);
        var recovered = restart.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        sends.AssertOnlyAnsweredOrUnavailable(_apis);
        Assert.True(sends.Acknowledged.Count > 50, $"only {sends.Acknowledged.Count} sends answered");
        Assert.Contains(HttpStatusCode.ServiceUnavailable, sends.Statuses);
        Assert.True(recovered < Recovery, $"recovered in {recovered}");
        await AssertStoredOnceEachAsync(sends, pendingAllowed: true);
    }

    [Fact]
    public async Task TheSingleWriterKilledBehindHaproxyStallsSendsForSecondsAndLosesNothingAcknowledged()
    {
        var connectionString = Cluster.SingleWriterConnectionString(GaleraFixture.Database);
        var (a, b) = (await ApiAsync(connectionString), await ApiAsync(connectionString));
        var sends = new Sends();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 8).Select(i => sends.ConversationsAsync(i % 2 == 0 ? a : b, i % 2 == 0 ? b : a, stop.Token)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);

        var killedAt = sends.Elapsed;
        await Cluster.KillNodeAsync(1);
        await Task.Delay(TimeSpan.FromSeconds(12), TestContext.Current.CancellationToken);
        var stall = sends.LongestGapAfter(killedAt);
        await Cluster.StartNodeAsync(1);
        await Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        sends.AssertOnlyAnsweredOrUnavailable(_apis);
        Assert.True(stall < TimeSpan.FromSeconds(10), $"sends stalled {stall.TotalSeconds:0.0} s after the writer died");
        Assert.True(sends.AcknowledgedAfter(killedAt + stall) > 10, "sends did not resume on the backup");
        await AssertStoredOnceEachAsync(sends, pendingAllowed: true);
        await Cluster.WaitUntilWholeAsync(Recovery);
    }

    [Fact]
    public async Task TwoMigratorsOnTwoNodesOfANewDatabaseBothSucceedWithOneHistory()
    {
        for (var round = 0; round < 3; round++)
        {
            var database = $"race_{Guid.NewGuid().ToString("n")[..10]}";

            await Task.WhenAll(
                DatabaseFixture.MigrateAsync(Cluster.NodeConnectionString(1, database)),
                DatabaseFixture.MigrateAsync(Cluster.NodeConnectionString(2, database)));

            await using var connection = await OpenCausalAsync(3, database);
            await using var command = new MySqlCommand(
                "SELECT COUNT(*), COUNT(DISTINCT version), SUM(success = 0) FROM schema_history WHERE version IS NOT NULL", connection);
            await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            await reader.ReadAsync(TestContext.Current.CancellationToken);
            Assert.True(reader.GetInt64(0) > 0);
            Assert.Equal(reader.GetInt64(0), reader.GetInt64(1));
            Assert.Equal(0, reader.GetInt64(2));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var api in _apis)
        {
            api.Dispose();
        }
        await Cluster.WaitUntilWholeAsync(Recovery);
    }

    private async Task<HttpClient> ApiAsync(string connectionString)
    {
        var api = await fixture.StartApiAsync(connectionString);
        _apis.Add(api);
        return new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    private static async Task WaitForHealthAsync(HttpClient api, HttpStatusCode status, TimeSpan limit)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var health = await api.GetAsync("/health", TestContext.Current.CancellationToken);
            if (health.StatusCode == status)
            {
                return;
            }
            Assert.True(waited.Elapsed < limit, $"/health was {(int)health.StatusCode}, not {(int)status}, after {limit.TotalSeconds:0} s");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }

    private async Task<MySqlConnection> OpenCausalAsync(int node, string database = GaleraFixture.Database)
    {
        var connection = new MySqlConnection(Cluster.NodeConnectionString(node, database));
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand("SET SESSION wsrep_sync_wait = 7", connection);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        return connection;
    }

    // Every acknowledged send is stored once, Success, with the reply it was answered with right after it; every
    // conversation's count is its rows; no message is Pending (unless the test killed the node a turn ran on, and
    // then only an unacknowledged one, which the sweep ends later).
    private async Task AssertStoredOnceEachAsync(
        Sends sends, IReadOnlyCollection<string>? expectedConversations = null, int extraTurns = 0, bool pendingAllowed = false)
    {
        await Cluster.WaitUntilWholeAsync(Recovery);
        await using var connection = await OpenCausalAsync(3);
        var conversations = expectedConversations ?? [.. sends.Acknowledged.Values.Select(reply => reply.ConversationId).Distinct()];
        var rows = new List<(string ConvId, int No, string Role, string MessageId, string Message, string Status, string Detail)>();
        foreach (var chunk in conversations.Chunk(200))
        {
            await using var command = new MySqlCommand(
                $"SELECT conv_id, message_no, role, message_id, message, Status, CONCAT_WS(' ', attempt, error_code, elapsed_time, created_at, updated_at) FROM message_store WHERE conv_id IN ({string.Join(',', chunk.Select((_, i) => $"@c{i}"))})",
                connection);
            for (var i = 0; i < chunk.Length; i++)
            {
                command.Parameters.AddWithValue($"@c{i}", chunk[i]);
            }
            await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)));
            }
        }
        var byKey = rows.ToDictionary(row => (row.ConvId, row.No));
        foreach (var (messageId, reply) in sends.Acknowledged)
        {
            var user = rows.Where(row => row.ConvId == reply.ConversationId && row.MessageId == messageId).ToList();
            Assert.True(user.Count == 1, $"acknowledged {messageId} stored {user.Count} times");
            Assert.True(user[0] is { Role: "user", Status: "Success" },
                $"acknowledged {messageId} stored as {user[0]}; next: {rows.FirstOrDefault(row => row.ConvId == reply.ConversationId && row.No == user[0].No + 1)}; statuses {string.Join(",", sends.Statuses.Select(status => (int)status))}");
            Assert.True(byKey.TryGetValue((reply.ConversationId, user[0].No + 1), out var stored), $"the reply to {messageId} is not stored");
            Assert.Equal(("assistant", reply.Text), (stored.Role, stored.Message));
        }
        if (!pendingAllowed)
        {
            Assert.DoesNotContain(rows, row => row.Status == "Pending");
            Assert.Equal(sends.Acknowledged.Count + extraTurns, rows.Count(row => row.Role == "user"));
        }
        // Of the conversations made since this test began (on this machine's clock, the servers' too): another test's
        // defect is that test's failure.
        var miscounted = new List<string>();
        await using (var counts = new MySqlCommand(
            "SELECT CONCAT_WS(' ', c.conv_id, c.message_count, (SELECT COUNT(*) FROM message_store m WHERE m.conv_id = c.conv_id)) FROM conversation_store c " +
            "WHERE c.created_at >= @since AND c.message_count <> (SELECT COUNT(*) FROM message_store m WHERE m.conv_id = c.conv_id)",
            connection))
        {
            counts.Parameters.AddWithValue("@since", _started);
            await using var reader = await counts.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                miscounted.Add(reader.GetString(0));
            }
        }
        if (miscounted.Count > 0)
        {
            var id = miscounted[0].Split(' ')[0];
            Assert.Fail($"conversations whose count is not their rows (id, count, rows): {string.Join("; ", miscounted)}; {id}'s rows: " +
                string.Join("; ", rows.Where(row => row.ConvId == id).OrderBy(row => row.No).Select(row => $"{row.No} {row.Role} {row.MessageId} {row.Status} {row.Detail}")) +
                $"; its answers: {string.Join("; ", sends.Acknowledged.Where(sent => sent.Value.ConversationId == id).Select(sent => sent.Key))}");
        }
    }

    /// <summary>What the clients of a test sent and were answered.</summary>
    private sealed class Sends
    {
        private static readonly HttpStatusCode[] Honest = [HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable, HttpStatusCode.Conflict];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly ConcurrentQueue<HttpStatusCode> _statuses = new();
        private readonly ConcurrentQueue<TimeSpan> _answeredAt = new();

        public ConcurrentDictionary<string, (string ConversationId, string Text)> Acknowledged { get; } = new();

        public IReadOnlyCollection<HttpStatusCode> Statuses => [.. _statuses];

        public TimeSpan Elapsed => _clock.Elapsed;

        /// <summary>Sends until answered, again with the same message_id after each 503 or 409, through <paramref name="retryThrough"/> when given.</summary>
        public async Task<string?> UntilAnsweredAsync(
            HttpClient client, string message, long user, string? conversationId, HttpClient? retryThrough = null, CancellationToken stop = default)
        {
            var messageId = ChatCalls.NewMessageId();
            for (var attempt = 0; attempt < 120; attempt++)
            {
                using var response = await (attempt == 0 ? client : retryThrough ?? client).SendJsonAsync(message, user, messageId, conversationId);
                _statuses.Enqueue(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(CancellationToken.None)).RootElement;
                    var conversation = body.Str("conversation_id");
                    Assert.True(Acknowledged.TryAdd(messageId, (conversation, body.Str("message"))), $"{messageId} answered twice");
                    _answeredAt.Enqueue(_clock.Elapsed);
                    return conversation;
                }
                if (!Honest.Contains(response.StatusCode) || stop.IsCancellationRequested)
                {
                    return null;
                }
                await Task.Delay(250, CancellationToken.None);
            }
            return null;
        }

        /// <summary>A client's conversations of three turns each, one after another, until <paramref name="stop"/>.</summary>
        public async Task ConversationsAsync(HttpClient client, HttpClient retryThrough, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var user = ChatCalls.NewUserId();
                string? conversationId = null;
                for (var turn = 0; turn < 3 && !stop.IsCancellationRequested; turn++)
                {
                    conversationId = await UntilAnsweredAsync(client, $"turn {turn}", user, conversationId, retryThrough, stop) ?? conversationId;
                    if (conversationId is null)
                    {
                        break;
                    }
                }
            }
        }

        /// <summary>Every answer 200, 503 or 409; else the failure names the others and what the APIs logged of them.</summary>
        public void AssertOnlyAnsweredOrUnavailable(IEnumerable<ApiProcess> apis)
        {
            var others = _statuses.Where(status => !Honest.Contains(status)).ToList();
            if (others.Count == 0)
            {
                return;
            }
            // An unexpected failure's own lines (its message, exception and first frames) first: they name the 500.
            var lines = apis.SelectMany(api => api.Output).ToList();
            var unexpected = lines.Select((line, index) => (line, index)).Where(entry => entry.line.Contains("Unexpected failure", StringComparison.Ordinal))
                .SelectMany(entry => lines.Skip(entry.index).Take(5));
            var exceptions = lines.Where(line => line.Contains("Exception", StringComparison.Ordinal)).Take(12);
            Assert.Fail($"statuses other than 200, 503 and 409: {string.Join(", ", others.Select(status => (int)status))}; " +
                $"the APIs logged:\n{string.Join('\n', unexpected.Concat(exceptions))}");
        }

        /// <summary>The longest time without an answer after <paramref name="from"/>.</summary>
        public TimeSpan LongestGapAfter(TimeSpan from)
        {
            var times = _answeredAt.Where(time => time >= from).Order().Prepend(from).Append(_clock.Elapsed).ToList();
            return times.Zip(times.Skip(1), (earlier, later) => later - earlier).Max();
        }

        public int AcknowledgedAfter(TimeSpan from) => _answeredAt.Count(time => time > from);
    }
}
