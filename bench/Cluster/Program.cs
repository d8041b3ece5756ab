// The cluster bench's client (bench/scenarios/cluster.sh): clients that each send conversations of three turns through
// the APIs given, as a client behind a load balancer does (a 503 or 409 sent again with the same message_id, through
// the next API), optionally with a command run during the load (a node killed) and another after it (the node
// started again). Then it checks the database: every acknowledged send stored once, Success, with the reply it was
// answered with right after it (lost: one that is not; doubled: a message_id stored more than once, or a conversation
// with more replies than answered messages). One RESULT line.
//
//   load URLS CONNECTION SECONDS CLIENTS [MIN_ACKNOWLEDGED] [KILL_AT_S KILL_COMMAND RESTART_AT_S RESTART_COMMAND]
//     URLS: comma-separated; client i starts on URLS[i % n]. MIN_ACKNOWLEDGED: run past SECONDS until that many sends
//     were answered 200 (the soak). The commands run with bash -c.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MySqlConnector;

if (args is not ["load", var urlList, var connectionString, var secondsText, var clientsText, .. var rest])
{
    Console.Error.WriteLine("usage: load URLS CONNECTION SECONDS CLIENTS [MIN_ACKNOWLEDGED] [KILL_AT_S KILL_COMMAND RESTART_AT_S RESTART_COMMAND]");
    return 2;
}
var urls = urlList.Split(',').Select(url => new Uri(url)).ToArray();
var seconds = double.Parse(secondsText, CultureInfo.InvariantCulture);
var clients = int.Parse(clientsText, CultureInfo.InvariantCulture);
var minimum = rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 0;
(double At, string Command)? kill = rest.Length >= 5 ? (double.Parse(rest[1], CultureInfo.InvariantCulture), rest[2]) : null;
(double At, string Command)? restart = rest.Length >= 5 ? (double.Parse(rest[3], CultureInfo.InvariantCulture), rest[4]) : null;

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1000 }) { Timeout = TimeSpan.FromSeconds(120) };
var acknowledged = new ConcurrentDictionary<string, (string Conversation, string Text)>();
var statuses = new ConcurrentDictionary<int, int>();
var latencies = new ConcurrentBag<double>();
var answeredAt = new ConcurrentBag<double>();
var clock = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(seconds);
bool Running() => clock.Elapsed < deadline || acknowledged.Count < minimum;
var nextUser = Random.Shared.Next(1_000_000, 1_000_000_000);

async Task<string?> SendAsync(int client, long user, string message, string? conversation)
{
    var messageId = $"c-{Guid.NewGuid():n}";
    for (var attempt = 0; attempt < 240; attempt++)
    {
        var url = urls[(client + attempt) % urls.Length];
        var started = clock.Elapsed.TotalMilliseconds;
        HttpStatusCode status;
        JsonElement body = default;
        try
        {
            using var response = await http.PostAsJsonAsync(new Uri(url, "/chat-message"),
                new { message, user_id = user, message_id = messageId, conversation_id = conversation ?? "" });
            status = response.StatusCode;
            if (status == HttpStatusCode.OK)
            {
                body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            }
        }
        catch (HttpRequestException)
        {
            status = 0; // the API itself unreachable: counted, and sent again
        }
        statuses.AddOrUpdate((int)status, 1, (_, count) => count + 1);
        if (status == HttpStatusCode.OK)
        {
            latencies.Add(clock.Elapsed.TotalMilliseconds - started);
            answeredAt.Add(clock.Elapsed.TotalMilliseconds);
            var id = body.GetProperty("conversation_id").GetString()!;
            acknowledged[messageId] = (id, body.GetProperty("message").GetString()!);
            return id;
        }
        if (status is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.Conflict or 0))
        {
            return null; // a 500 or anything else: counted, and the conversation given up
        }
        await Task.Delay(200);
    }
    return null;
}

async Task ClientAsync(int client)
{
    while (Running())
    {
        var user = Interlocked.Increment(ref nextUser);
        string? conversation = null;
        for (var turn = 0; turn < 3 && Running(); turn++)
        {
            conversation = await SendAsync(client, user, $"turn {turn} of {user}", conversation);
            if (conversation is null)
            {
                break;
            }
        }
    }
}

async Task RunAtAsync((double At, string Command)? step)
{
    if (step is not { } planned)
    {
        return;
    }
    var wait = TimeSpan.FromSeconds(planned.At) - clock.Elapsed;
    if (wait > TimeSpan.Zero)
    {
        await Task.Delay(wait);
    }
    using var process = Process.Start("bash", ["-c", planned.Command]);
    await process.WaitForExitAsync();
}

var steps = Task.Run(async () =>
{
    await RunAtAsync(kill);
    await RunAtAsync(restart);
});
await Task.WhenAll(Enumerable.Range(0, clients).Select(ClientAsync));
var elapsed = clock.Elapsed.TotalSeconds;
await steps;

// The check, on a session that waits for its node to have applied everything (a Galera node; nothing elsewhere).
await using var connection = new MySqlConnection(connectionString);
await connection.OpenAsync();
try
{
    await using var causal = new MySqlCommand("SET SESSION wsrep_sync_wait = 7", connection);
    await causal.ExecuteNonQueryAsync();
}
catch (MySqlException)
{
    // Not a Galera node.
}
var rows = new List<(string Conversation, int No, string Role, string MessageId, string Text, string Status)>();
foreach (var chunk in acknowledged.Values.Select(value => value.Conversation).Distinct().Chunk(500))
{
    await using var command = new MySqlCommand(
        $"SELECT conv_id, message_no, role, message_id, message, Status FROM message_store WHERE conv_id IN ({string.Join(',', chunk.Select((_, i) => $"@c{i}"))})",
        connection);
    for (var i = 0; i < chunk.Length; i++)
    {
        command.Parameters.AddWithValue($"@c{i}", chunk[i]);
    }
    await using var reader = await command.ExecuteReaderAsync();
    while (await reader.ReadAsync())
    {
        rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)));
    }
}
var byNumber = rows.ToDictionary(row => (row.Conversation, row.No));
var byMessageId = rows.Where(row => row.Role == "user").ToLookup(row => row.MessageId);
var lost = 0;
foreach (var (messageId, (conversation, text)) in acknowledged)
{
    var stored = byMessageId[messageId].Where(row => row.Conversation == conversation).ToList();
    if (stored is not [{ Status: "Success" } message]
        || !byNumber.TryGetValue((conversation, message.No + 1), out var reply) || reply.Role != "assistant" || reply.Text != text)
    {
        lost++;
    }
}
var doubled = byMessageId.Count(group => group.Count() > 1)
    + rows.GroupBy(row => row.Conversation).Count(group =>
        group.Count(row => row.Role == "assistant") > group.Count(row => row.Role == "user" && row.Status == "Success"));

var sorted = latencies.Order().ToArray();
double Percentile(double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
var answers = answeredAt.Order().ToList();
var stall = 0.0;
if (kill is { } killed)
{
    var from = killed.At * 1000;
    var after = answers.Where(time => time >= from).Prepend(from).ToList();
    stall = after.Zip(after.Skip(1), (earlier, later) => later - earlier).DefaultIfEmpty(0).Max();
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"RESULT acknowledged={acknowledged.Count} rps={acknowledged.Count / elapsed:0} p50_ms={Percentile(0.5):0.0} p99_ms={Percentile(0.99):0.0} " +
    $"lost={lost} doubled={doubled} stall_ms={stall:0} seconds={elapsed:0.0} statuses={string.Join(',', statuses.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key}:{pair.Value}"))}"));
return 0;
