using ChatBackend.ApiService.Data;
using System.Globalization;

namespace ChatBackend.ApiService.Chat;

/// <summary>What a stream that follows a reply sends: its text piece by piece, a replaced attempt, its end.</summary>
public abstract record ReplyEvent(StreamPosition Position)
{
    /// <summary>A piece of the reply, ending at <see cref="ReplyEvent.Position"/>.</summary>
    public sealed record Delta(string Text, StreamPosition Position) : ReplyEvent(Position);

    /// <summary>The text sent so far belonged to an attempt that was given up; the reply starts again.</summary>
    public sealed record Restarted(StreamPosition Position) : ReplyEvent(Position);

    public sealed record Ended(TurnOutcome Outcome, StreamPosition Position) : ReplyEvent(Position);
}

/// <summary>
/// Where a stream is in a reply: the attempt whose text it follows and how many characters (UTF-16 code units) of it
/// were sent. It is the event id, <c>attempt.offset</c>, that a client gives back as Last-Event-ID to resume.
/// </summary>
public readonly record struct StreamPosition(int Attempt, int Offset)
{
    public static readonly StreamPosition Start = new(0, 0);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Attempt}.{Offset}");

    public static bool TryParse(string? text, out StreamPosition position)
    {
        position = Start;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0
            && int.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var attempt)
            && int.TryParse(text.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            position = new StreamPosition(attempt, offset);
            return true;
        }
        return false;
    }
}
