using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A step of the server's tool work in a reply, as its streams send it where it happened in the text (the entry's
/// <see cref="ToolCall.TextOffset"/>): a server's tools listed, an MCP call started, the call ended
/// (<see cref="Ended"/>, with its output or error), a call that waits for approval. A running turn makes them one by
/// one; a stored reply's entries give the same ones in the same order (<see cref="Of"/>), so a stream resumed at the
/// n-th of them goes on alike on any instance, whether the turn still runs or has ended.
/// </summary>
public sealed record ToolEvent(
    [property: JsonPropertyName("entry")] ToolCall Entry,
    [property: JsonPropertyName("ended")] bool Ended)
{
    /// <summary>Where in the reply's text it happened.</summary>
    [JsonIgnore]
    public int At => Entry.TextOffset ?? 0;

    /// <summary>A call the server starts now: its name and arguments, no output yet.</summary>
    public static ToolEvent Started(ToolCall call) => new(call, Ended: false);

    /// <summary>What is complete when it happens: a list of tools, an ended call, an approval request.</summary>
    public static ToolEvent Done(ToolCall entry) => new(entry, Ended: true);

    /// <summary>The events of a reply's entries: a call's start and end, one event for every other entry of the server's.</summary>
    public static IReadOnlyList<ToolEvent> Of(IReadOnlyList<ToolCall> entries)
    {
        var events = new List<ToolEvent>();
        foreach (var entry in entries.Where(entry => !entry.IsFunctionCall))
        {
            if (entry.Type == ToolCall.McpCall)
            {
                events.Add(Started(entry with { Output = null, Error = null }));
            }
            events.Add(Done(entry));
        }
        return events;
    }

    /// <summary>
    /// The entries of a reply's tool work cut short, from its events: a call that had started and not ended is kept as
    /// stopped with the reply.
    /// </summary>
    public static IReadOnlyList<ToolCall> EntriesOf(IReadOnlyList<ToolEvent> events)
    {
        var entries = new List<ToolCall>();
        foreach (var step in events)
        {
            if (step.Ended && step.Entry.Type == ToolCall.McpCall
                && entries.FindLastIndex(entry => entry.CallId == step.Entry.CallId) is var started and >= 0)
            {
                entries[started] = step.Entry;
            }
            else
            {
                entries.Add(step.Ended ? step.Entry : step.Entry with { Error = Stopped });
            }
        }
        return entries;
    }

    /// <summary>What a call stopped with its turn (a cancel, the server stopping) is kept with.</summary>
    public const string Stopped = "The call was stopped with its reply before it ended.";

    public static string? Serialize(IReadOnlyCollection<ToolEvent> events) => events.Count == 0 ? null : JsonSerializer.Serialize(events);

    public static IReadOnlyList<ToolEvent> Parse(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize<List<ToolEvent>>(json) ?? [];
}
