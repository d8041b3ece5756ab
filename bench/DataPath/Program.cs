using System.Diagnostics;
using System.Globalization;
using ChatBackend.ApiService.Data;
using MySqlConnector;

// The bench's helper, on the API's own data path (TurnStore), with no HTTP in between:
//   turns CONNECTION_STRING SECONDS CONCURRENCY   the ceiling (d): new-conversation turns, the same two
//                                                  transactions per turn as POST /chat-message does
//   seed CONNECTION_STRING CONVERSATIONS TURNS FILE  makes conversations with TURNS turns each and writes
//                                                  "conversation_id user_id" lines to FILE
var culture = CultureInfo.InvariantCulture;
if (args is not [var mode, var connectionString, ..])
{
    Console.Error.WriteLine("usage: turns CONNECTION_STRING SECONDS CONCURRENCY | seed CONNECTION_STRING CONVERSATIONS TURNS FILE");
    return 2;
}

var connectionStringBuilder = new MySqlConnectionStringBuilder(connectionString);
ChatDatabase.ApplyConnectionDefaults(connectionStringBuilder);
await using var dataSource = new MySqlDataSource(connectionStringBuilder.ConnectionString);
var store = new TurnStore(dataSource);
var abandonedAfter = TimeSpan.FromMinutes(2);
const string Reply = "No language model is configured on this server, so this is an automatic reply.";
const int TokenCount = 20; // what the API stores with each message; counting is not the data path's work

async Task<string> TurnAsync(long userId, string? conversationId, string message)
{
    var begun = (BeginTurnResult.Started)await store.BeginTurnAsync(
        userId, conversationId, $"m-{Guid.NewGuid():n}", message, TokenCount, abandonedAfter, idempotencyKey: null, CancellationToken.None);
    if (conversationId is not null)
    {
        await store.GetContextAsync(begun.Turn.ConversationId, begun.Turn.MessageNo, 200, CancellationToken.None);
    }
    var reply = new ReplyRecord($"r-{Guid.NewGuid():n}", Reply, TokenCount, 0, "offline", null, null, "stop", null);
    await store.CompleteTurnAsync(begun.Turn, reply, MessageStatus.Success, 0, errorCode: null, CancellationToken.None);
    return begun.Turn.ConversationId;
}

switch (args)
{
    case ["turns", _, var secondsText, var concurrencyText]:
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
                await TurnAsync(worker + 1, null, "Hello there");
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }));
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(list => list).Order().ToArray();
        Console.WriteLine(string.Create(culture,
            $"RESULT requests={all.Length} rps={all.Length / elapsed:0.0} p50_ms={Percentile(all, 50):0.00} p99_ms={Percentile(all, 99):0.00} errors=0"));
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
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'");
        return 2;
}

static double Percentile(double[] sorted, double percentile) =>
    sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1)];
