using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;

namespace ChatBackend.Tests.Unit;

/// <summary>
/// The end of a followed reply (ReplyFollower's Ending, through Replay, which streams a stored reply): a restart when
/// the client's offset is past the text, the rest of the text, then the end; tool events merged with the text where
/// they happened.
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

    [Fact]
    public void ToolEventsComeWhereTheyHappenedInTheTextAndAPositionAfterOneGoesOnWithTheNext()
    {
        var listed = new ToolCall("mcpl_s", Type: ToolCall.McpListTools, ServerLabel: "s", TextOffset: 0);
        var call = new ToolCall("c1", "add", "{}", "2", ToolCall.McpCall, "s", TextOffset: 5);
        var tools = ToolEvent.Of([listed, call, new ToolCall("f1", "client_side", "{}")]);

        // A piece that spans the call's offset is cut there.
        var all = ReplyEvent.Merge([("Hello there", 11)], tools, StreamPosition.Start);
        Assert.Equal(
            [new ReplyEvent.Tool(tools[0], new StreamPosition(0, 0, 1)), new ReplyEvent.Delta("Hello", new StreamPosition(0, 5, 1)),
                new ReplyEvent.Tool(tools[1], new StreamPosition(0, 5, 2)), new ReplyEvent.Tool(tools[2], new StreamPosition(0, 5, 3)),
                new ReplyEvent.Delta(" there", new StreamPosition(0, 11, 3))],
            all);
        Assert.False(tools[1].Ended);
        Assert.Equal("2", tools[2].Entry.Output);

        var afterStart = ReplyEvent.Merge([(" there", 11)], tools, new StreamPosition(0, 5, 2));
        Assert.Equal([all[3], all[4]], afterStart);
    }

    private static async Task<List<ReplyEvent>> ReplayAsync(StreamPosition from) =>
        await ReplyFollower.Replay(Answered, from).ToListAsync(TestContext.Current.CancellationToken);

    private static ReplyEvent.Ended End(StreamPosition position) => new(new TurnOutcome.Answered(Answered), position);
}
