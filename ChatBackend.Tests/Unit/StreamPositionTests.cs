using ChatBackend.ApiService.Chat;

namespace ChatBackend.Tests.Unit;

/// <summary>The event id a stream sends and a client gives back as Last-Event-ID: StreamPosition, called directly.</summary>
[Trait("Category", "Unit")]
public sealed class StreamPositionTests
{
    [Theory]
    [InlineData("0.5", 0, 5)]
    [InlineData("3.17", 3, 17)]
    [InlineData("12.0", 12, 0)]
    public void AnAttemptAndAnOffsetParse(string text, int attempt, int offset)
    {
        Assert.True(StreamPosition.TryParse(text, out var position));

        Assert.Equal(new StreamPosition(attempt, offset), position);
        Assert.Equal(text, position.ToString());
    }

    [Theory]
    [InlineData("0.5.1", 0, 5, 1)]
    [InlineData("3.17.12", 3, 17, 12)]
    public void AfterAToolEventTheirCountFollows(string text, int attempt, int offset, int tools)
    {
        Assert.True(StreamPosition.TryParse(text, out var position));

        Assert.Equal(new StreamPosition(attempt, offset, tools), position);
        Assert.Equal(text, position.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void NoIdIsTheStart(string? text)
    {
        Assert.True(StreamPosition.TryParse(text, out var position));

        Assert.Equal(StreamPosition.Start, position);
        Assert.Equal("0.0", position.ToString());
    }

    [Theory]
    [InlineData("5")]
    [InlineData(".5")]
    [InlineData("1.")]
    [InlineData("1.2.3.4")]
    [InlineData("1.2.")]
    [InlineData("-1.2")]
    [InlineData("1.-2")]
    [InlineData(" 1.2")]
    [InlineData("1.2 ")]
    [InlineData("+1.2")]
    [InlineData("a.b")]
    [InlineData("99999999999.1")]
    [InlineData("١.٢")]
    public void AnythingElseIsRefused(string text)
    {
        Assert.False(StreamPosition.TryParse(text, out _));
    }
}
