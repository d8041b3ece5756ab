using ChatBackend.ApiService.Data;
using System.Globalization;

namespace ChatBackend.ApiService.Chat;

/// <summary>What a stream that follows a reply sends: its text piece by piece, its tool work, a replaced attempt, its end.</summary>
public abstract record ReplyEvent(StreamPosition Position)
{
    /// <summary>A piece of the reply, ending at <see cref="ReplyEvent.Position"/>.</summary>
    public sealed record Delta(string Text, StreamPosition Position) : ReplyEvent(Position);

    /// <summary>A step of the server's tool work, the position's <see cref="StreamPosition.Tools"/>-th.</summary>
    public sealed record Tool(ToolEvent Event, StreamPosition Position) : ReplyEvent(Position);

    /// <summary>The text sent so far belonged to an attempt that was given up; the reply starts again.</summary>
    public sealed record Restarted(StreamPosition Position) : ReplyEvent(Position);

    public sealed record Ended(TurnOutcome Outcome, StreamPosition Position) : ReplyEvent(Position);

    /// <summary>
    /// A reply's text <paramref name="pieces"/> (each with the offset it ends at, from <paramref name="from"/>'s offset
    /// on) and its <paramref name="tools"/> events (all of them) after <paramref name="from"/>, in the order they
    /// happened: a tool event before the text that came after it.
    /// </summary>
    public static List<ReplyEvent> Merge(
        IReadOnlyList<(string Text, int End)> pieces, IReadOnlyList<ToolEvent> tools, StreamPosition from)
    {
        var merged = new List<ReplyEvent>(pieces.Count + Math.Max(tools.Count - from.Tools, 0));
        var position = from;
        var next = from.Tools;
        foreach (var (text, end) in pieces)
        {
            var start = end - text.Length;
            // The events that happened before this piece ended; one inside it cuts it there.
            for (; next < tools.Count && tools[next].At < end; next++)
            {
                var at = Math.Max(tools[next].At, start);
                if (at > position.Offset)
                {
                    merged.Add(new Delta(text[(position.Offset - start)..(at - start)], position = position with { Offset = at }));
                }
                merged.Add(new Tool(tools[next], position = position with { Tools = next + 1 }));
            }
            if (end > position.Offset)
            {
                merged.Add(new Delta(text[(position.Offset - start)..], position = position with { Offset = end }));
            }
        }
        for (; next < tools.Count; next++)
        {
            merged.Add(new Tool(tools[next], position = position with { Tools = next + 1 }));
        }
        return merged;
    }
}

/// <summary>
/// Where a stream is in a reply: the attempt it follows, how many characters (UTF-16 code units) of its text and how
/// many of its tool events were sent. It is the event id, <c>attempt.offset</c> (<c>attempt.offset.tools</c> once a
/// tool event was sent), that a client gives back as Last-Event-ID to resume.
/// </summary>
public readonly record struct StreamPosition(int Attempt, int Offset, int Tools = 0)
{
    public static readonly StreamPosition Start = new(0, 0);

    public override string ToString() => Tools == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{Attempt}.{Offset}")
        : string.Create(CultureInfo.InvariantCulture, $"{Attempt}.{Offset}.{Tools}");

    public static bool TryParse(string? text, out StreamPosition position)
    {
        position = Start;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        var parts = text.Split('.');
        var numbers = new int[3];
        if (parts.Length is < 2 or > 3)
        {
            return false;
        }
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length == 0 || !int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return false;
            }
        }
        position = new StreamPosition(numbers[0], numbers[1], numbers[2]);
        return true;
    }
}
