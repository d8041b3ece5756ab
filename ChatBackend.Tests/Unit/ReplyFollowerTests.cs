using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;

namespace ChatBackend.Tests.Unit;

/// <summary>
/// The end of a followed reply (ReplyFollower's Ending, through Replay, which streams a stored reply): a restart when
/// the client's offset is past the text, the rest of the text, then the end.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ReplyFollowerTests
{
    private static readonly AnsweredTurn Answered =
        new("c-1", "m-1", new ReplyRecord("r-1", "Hello there", 3, 10, "gpt-4o-mini", 5, 3, "stop", 4), 2);

    [Fact]
    public async Task FromTheStartTheWholeTextThenTheEnd()
    {
        var events = await ReplayAsync(StreamPosition.Start);

        Assert.Equal(
            [new ReplyEvent.Delta("Hello there", new StreamPosition(0, 11)), End(new StreamPosition(0, 11))],
            events);
    }

    [Fact]
    public async Task FromAnOffsetInTheTextTheRestOfItThenTheEndInTheSameAttempt()
    {
        var events = await ReplayAsync(new StreamPosition(2, 5));

        Assert.Equal([new ReplyEvent.Delta(" there", new StreamPosition(2, 11)), End(new StreamPosition(2, 11))], events);
    }

    [Fact]
    public async Task FromTheEndOfTheTextOnlyTheEnd()
    {
        Assert.Equal([End(new StreamPosition(1, 11))], await ReplayAsync(new StreamPosition(1, 11)));
    }

    [Fact]
    public async Task FromAnOffsetPastTheTextARestartThenTheWholeTextThenTheEnd()
    {
        var events = await ReplayAsync(new StreamPosition(1, 40));

        Assert.Equal(
            [new ReplyEvent.Restarted(new StreamPosition(1, 0)), new ReplyEvent.Delta("Hello there", new StreamPosition(1, 11)),
                End(new StreamPosition(1, 11))],
            events);
    }

    private static async Task<List<ReplyEvent>> ReplayAsync(StreamPosition from) =>
        await ReplyFollower.Replay(Answered, from).ToListAsync(TestContext.Current.CancellationToken);

    private static ReplyEvent.Ended End(StreamPosition position) => new(new TurnOutcome.Answered(Answered), position);
}
