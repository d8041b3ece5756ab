using System.Diagnostics;
using System.Globalization;
using ChatBackend.ApiService.Data;
using MySqlConnector;

// The bench's helper, on the API's own data path (TurnStore), with no HTTP in between:
//   turns CONNECTION_STRING SECONDS CONCURRENCY   the scenario ceiling: new-conversation turns, the same two
//                                                  transactions per turn as POST /chat-message does
//   minimal-write CONNECTION_STRING SECONDS CONCURRENCY
//                                                  the scenario minimal-write, the physical ceiling of a send's writes:
//                                                  per turn two transactions of one round trip each and nothing else
//                                                  (see MinimalTurnAsync), on copies of the product's two tables
//   seed CONNECTION_STRING CONVERSATIONS TURNS FILE  makes conversations with TURNS turns each and writes
//                                                  "conversation_id user_id" lines to FILE
//   scale CONNECTION_STRING USER CONVERSATIONS MESSAGES FILE  for the conversation benches: USER gets CONVERSATIONS
//                                                  one-turn conversations (1% of them mention "needle") and one of
//                                                  MESSAGES messages, in bulk; writes "user", "big conversation_id" and
//                                                  "deep after-cursor" (the one after 90% of the list) lines to FILE
var culture = CultureInfo.InvariantCulture;
if (args is not [var mode, var connectionString, ..])
{
    Console.Error.WriteLine(
        "usage: turns|minimal-write CONNECTION_STRING SECONDS CONCURRENCY | seed CONNECTION_STRING CONVERSATIONS TURNS FILE | " +
        "scale CONNECTION_STRING USER CONVERSATIONS MESSAGES FILE");
    return 2;
}

var connectionStringBuilder = new MySqlConnectionStringBuilder(connectionString);
ChatDatabase.ApplyConnectionDefaults(connectionStringBuilder);
await using var dataSource = new MySqlDataSource(connectionStringBuilder.ConnectionString);
var store = new TurnStore(dataSource);
var queries = new ConversationQueries(dataSource);
var abandonedAfter = TimeSpan.FromMinutes(2);
const string Reply = "No language model is configured on this server, so this is an automatic reply.";
const int TokenCount = 20; // what the API stores with each message; counting is not the data path's work

async Task<string> TurnAsync(long userId, string? conversationId, string message)
{
    var begun = (TurnOutcome.Begun)await store.BeginTurnAsync(
        userId, conversationId, $"m-{Guid.NewGuid():n}", message, TokenCount, abandonedAfter, idempotencyKey: null, response: null, CancellationToken.None);
    if (conversationId is not null)
    {
        await queries.GetContextAsync(begun.Turn.ConversationId, begun.Turn.MessageNo, 200, CancellationToken.None);
    }
    var reply = new ReplyRecord($"r-{Guid.NewGuid():n}", Reply, TokenCount, 0, "offline", null, null, "stop", null);
    await store.CompleteTurnAsync(begun.Turn, reply, MessageStatus.Success, 0, error: null, tokensUsed: 0, CancellationToken.None);
    return begun.Turn.ConversationId;
}

switch (args)
{
    case ["turns", _, var secondsText, var concurrencyText]:
        await MeasureAsync(secondsText, concurrencyText, worker => TurnAsync(worker + 1, null, "Hello there"));
        return 0;
    case ["minimal-write", _, var secondsText, var concurrencyText]:
    {
        await CreateMinimalTablesAsync();
        // The users of the send scenario's script: 5,000 of them, in turn.
        var turns = 0;
        await MeasureAsync(secondsText, concurrencyText, _ => MinimalTurnAsync(Interlocked.Increment(ref turns) % 5000 + 1));
        return 0;
    }
    case ["seed", _, var conversationsText, var turnsText, var file]:
    {
        var lines = new List<string>();
        for (var i = 0; i < int.Parse(conversationsText, culture); i++)
        {
            var userId = 100_000 + i;
            string? conversationId = null;
            for (var turn = 0; turn < int.Parse(turnsText, culture); turn++)
            {
                conversationId = await TurnAsync(userId, conversationId, $"Seed message {turn} of conversation {i}");
            }
            lines.Add($"{conversationId} {userId}");
        }
        await File.WriteAllLinesAsync(file, lines);
        return 0;
    }
    case ["scale", _, var userText, var conversationsText, var messagesText, var file]:
    {
        var user = long.Parse(userText, culture);
        var conversations = int.Parse(conversationsText, culture);
        var messages = int.Parse(messagesText, culture);
        await using var connection = await dataSource.OpenConnectionAsync();
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        // Conversations in batches of 500, each a message and its reply, active one second apart.
        for (var first = 0; first < conversations; first += 500)
        {
            var batch = Enumerable.Range(first, Math.Min(500, conversations - first)).ToList();
            var sql = new System.Text.StringBuilder("INSERT INTO conversation_store (conv_id, user_id, message_count, last_message_no, created_at, updated_at) VALUES ");
            sql.AppendJoin(", ", batch.Select(i => string.Create(culture, $"('s{i:d7}-{user % 10_000:d4}', {user}, 2, 2, '{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss}', '{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss}')")));
            sql.Append(";\nINSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at) VALUES ");
            sql.AppendJoin(", ", batch.SelectMany(i => new[]
            {
                string.Create(culture, $"('user', 's{i:d7}-{user % 10_000:d4}', 1, 'm{i}', '{(i % 100 == 0 ? "Where do I find the needle" : "Tell me about the haystack")} number {i}', 12, 'Success', '{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss}', '{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss}')"),
                string.Create(culture, $"('assistant', 's{i:d7}-{user % 10_000:d4}', 2, 'r{i}', 'An answer about straw and hay, {i}', 12, 'Success', '{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss}', '{start.AddSeconds(i):yyyy-MM-dd HH:mm:ss}')"),
            }));
            await using var command = new MySqlCommand(sql.ToString(), connection);
            await command.ExecuteNonQueryAsync();
        }
        var big = string.Create(culture, $"big{user % 100_000:d5}-0000");
        await using (var command = new MySqlCommand(string.Create(culture,
            $"INSERT INTO conversation_store (conv_id, user_id, message_count, last_message_no, created_at, updated_at) VALUES ('{big}', {user}, {messages}, {messages}, '{start:yyyy-MM-dd HH:mm:ss}', '{start:yyyy-MM-dd HH:mm:ss}')"), connection))
        {
            await command.ExecuteNonQueryAsync();
        }
        for (var first = 1; first <= messages; first += 1000)
        {
            var sql = new System.Text.StringBuilder("INSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at) VALUES ");
            sql.AppendJoin(", ", Enumerable.Range(first, Math.Min(1000, messages - first + 1)).Select(no => string.Create(culture,
                $"('{(no % 2 == 1 ? "user" : "assistant")}', '{big}', {no}, 'b{no}', 'Message {no} of a long conversation about many things', 12, 'Success', '{start:yyyy-MM-dd HH:mm:ss}', '{start:yyyy-MM-dd HH:mm:ss}')")));
            await using var command = new MySqlCommand(sql.ToString(), connection);
            await command.ExecuteNonQueryAsync();
        }
        // The cursor after 90% of the list, newest first: the conversation at position 0.9 N from the top.
        await using (var command = new MySqlCommand(string.Create(culture,
            $"SELECT updated_at, ID FROM conversation_store WHERE user_id = {user} ORDER BY updated_at DESC, ID DESC LIMIT 1 OFFSET {conversations * 9 / 10}"), connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            var cursor = string.Create(culture, $"{DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Utc).Ticks}_{reader.GetInt64(1)}");
            await File.WriteAllLinesAsync(file, [user.ToString(culture), big, cursor]);
        }
        return 0;
    }
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'");
        return 2;
}

// CONCURRENCY workers, each running turns one after another for SECONDS: the RESULT line (turns/s as rps, and the
// p50 and p99 of a whole turn).
async Task MeasureAsync(string secondsText, string concurrencyText, Func<int, Task> turn)
{
    var duration = TimeSpan.FromSeconds(int.Parse(secondsText, culture));
    var concurrency = int.Parse(concurrencyText, culture);
    var latencies = new List<double>[concurrency];
    var clock = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
    {
        var mine = latencies[worker] = new List<double>(100_000);
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            await turn(worker);
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }));
    await Task.WhenAll(workers);
    var elapsed = clock.Elapsed.TotalSeconds;
    var all = latencies.SelectMany(list => list).Order().ToArray();
    Console.WriteLine(string.Create(culture,
        $"RESULT requests={all.Length} rps={all.Length / elapsed:0.0} p50_ms={Percentile(all, 50):0.00} p99_ms={Percentile(all, 99):0.00} errors=0"));
}

// minimal_conversation and minimal_message: the product's conversation_store and message_store copied (LIKE: the same
// columns and types, the same keys and indexes, the full-text one included, and the same checks) with the same
// foreign key, in the bench's database, so that the minimal write pays for the same index maintenance as a send
// without touching the product's rows. Made once; the rounds then grow them as the sends grow the product's.
async Task CreateMinimalTablesAsync()
{
    await using var connection = await dataSource.OpenConnectionAsync();
    await using var exists = new MySqlCommand(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'minimal_message'", connection);
    if (Convert.ToInt64(await exists.ExecuteScalarAsync(), culture) > 0)
    {
        return;
    }
    await using var create = new MySqlCommand("""
        CREATE TABLE minimal_conversation LIKE conversation_store;
        CREATE TABLE minimal_message LIKE message_store;
        ALTER TABLE minimal_message ADD CONSTRAINT fk_minimal_message_conversation
            FOREIGN KEY (conv_id) REFERENCES minimal_conversation (conv_id) ON DELETE CASCADE;
        """, connection);
    await create.ExecuteNonQueryAsync();
}

// A new-conversation turn's writes and nothing else: the same rows (ids of the product's shapes, the send's message,
// the offline reply with the columns the product fills) in two transactions of one round trip each, on a pooled
// connection each as the product takes them. No lookups, no usage count, no checks of who holds the turn.
async Task MinimalTurnAsync(long userId)
{
    const string begin = """
        START TRANSACTION;
        INSERT INTO minimal_conversation (conv_id, user_id, message_count, last_message_no, created_at, updated_at)
        VALUES (@conv, @user, 1, 2, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
        INSERT INTO minimal_message (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at)
        VALUES ('user', @conv, 1, @mid, @message, @tokens, 'Pending', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
        COMMIT;
        """;
    const string end = """
        START TRANSACTION;
        INSERT INTO minimal_message (role, conv_id, message_no, message_id, message, token_count, elapsed_time, model,
            finish_reason, Status, created_at, updated_at)
        VALUES ('assistant', @conv, 2, @reply_id, @reply, @tokens, 0, 'offline', 'stop', 'Success', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
        UPDATE minimal_message SET Status = 'Success', elapsed_time = 0, updated_at = UTC_TIMESTAMP(6)
        WHERE conv_id = @conv AND message_no = 1;
        UPDATE minimal_conversation SET message_count = message_count + 1, updated_at = UTC_TIMESTAMP(6) WHERE conv_id = @conv;
        COMMIT;
        """;
    var conversationId = Ids.NewConversationId();
    await using (var connection = await dataSource.OpenConnectionAsync())
    await using (var command = new MySqlCommand(begin, connection))
    {
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@user", userId);
        command.Parameters.AddWithValue("@mid", Ids.NewMessageId());
        command.Parameters.AddWithValue("@message", "Hello there, how are you?");
        command.Parameters.AddWithValue("@tokens", TokenCount);
        await command.ExecuteNonQueryAsync();
    }
    await using (var connection = await dataSource.OpenConnectionAsync())
    await using (var command = new MySqlCommand(end, connection))
    {
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@reply_id", Ids.NewReplyId());
        command.Parameters.AddWithValue("@reply", Reply);
        command.Parameters.AddWithValue("@tokens", TokenCount);
        await command.ExecuteNonQueryAsync();
    }
}

static double Percentile(double[] sorted, double percentile) =>
    sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1)];
