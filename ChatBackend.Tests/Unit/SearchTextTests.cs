using System.Text;
using ChatBackend.ApiService.Apis;

namespace ChatBackend.Tests.Unit;

/// <summary>The words of a conversation search and the snippet around the first one found: SearchText, called directly.</summary>
[Trait("Category", "Unit")]
public sealed class SearchTextTests
{
    [Theory]
    [InlineData("Kyoto trip", new[] { "Kyoto", "trip" })]
    [InlineData("  kyoto,trip!! (2026)  ", new[] { "kyoto", "trip", "2026" })]
    [InlineData("Москва — München 日本語", new[] { "Москва", "München", "日本語" })]
    [InlineData("😀 hi 🚀", new[] { "hi" })]
    [InlineData("!! -- ??", new string[0])]
    public void TheWordsAreTheRunsOfLettersAndDigitsInAnyScript(string query, string[] words)
    {
        Assert.Equal(words, SearchText.Words(query));
    }

    [Fact]
    public void ALetterOutsideTheBasicPlaneIsPartOfItsWord()
    {
        Assert.Equal(["x𝒜y"], SearchText.Words("x𝒜y"));
    }

    [Fact]
    public void AtMostTenWordsAreKeptEachCutTo84Characters()
    {
        var words = SearchText.Words(string.Join(' ', Enumerable.Range(1, 12).Select(i => $"w{i}")) + " " + new string('z', 100));

        Assert.Equal([.. Enumerable.Range(1, 10).Select(i => $"w{i}")], words);
        Assert.Equal(new string('z', 84), Assert.Single(SearchText.Words(new string('z', 100))));
    }

    [Fact]
    public void AShortMessageIsItsOwnSnippet()
    {
        Assert.Equal("Planning a trip to Kyoto in spring", SearchText.Snippet("Planning a trip to Kyoto in spring", ["kyoto"]));
    }

    [Fact]
    public void ALongMessagesSnippetIsCutOnWordsAroundTheFirstWordFoundWhateverItsCase()
    {
        var before = string.Join(' ', Enumerable.Repeat("before", 40));
        var after = string.Join(' ', Enumerable.Repeat("after", 60));
        var message = $"{before} the Kyoto temples {after}";

        var snippet = SearchText.Snippet(message, ["nowhere", "KYOTO"]);

        Assert.StartsWith("…", snippet);
        Assert.EndsWith("…", snippet);
        Assert.Contains("the Kyoto temples", snippet);
        Assert.InRange(snippet.Length, 100, 200);
        var inner = snippet.Trim('…');
        Assert.True(message.Contains(inner, StringComparison.Ordinal), snippet);
        Assert.True(inner.Split(' ').All(word => word is "before" or "after" or "the" or "Kyoto" or "temples"), $"A word was cut: {snippet}");
    }

    [Fact]
    public void NoWordFoundGivesTheMessagesBeginning()
    {
        var message = string.Join(' ', Enumerable.Repeat("word", 100));

        var snippet = SearchText.Snippet(message, ["absent"]);

        Assert.StartsWith("word word", snippet);
        Assert.EndsWith("…", snippet);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ASnippetNeverCutsAnEmojiInTwo(int shift)
    {
        // No spaces near the cuts, so they fall inside the run of emoji (two UTF-16 units each), at odd or even offsets.
        var emoji = string.Concat(Enumerable.Repeat("😀", 100));
        var message = new string('x', shift) + emoji + " found " + emoji;

        var snippet = SearchText.Snippet(message, ["found"]);

        Assert.Contains("found", snippet);
        Assert.DoesNotContain(Rune.ReplacementChar, snippet.EnumerateRunes());
    }
}
