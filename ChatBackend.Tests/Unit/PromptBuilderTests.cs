using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatBackend.Tests.Unit;

/// <summary>What the model sees of a conversation: PromptBuilder.Build, called directly.</summary>
[Trait("Category", "Unit")]
public sealed class PromptBuilderTests
{
    // Every stored message below costs this many tokens (its stored count), so that budgets are simple sums.
    private const int Cost = 10;

    [Fact]
    public void ToolCallsStayOnlyWhereTheirOutputsFollowThemAndOrphanOutputsBecomeTheUsersWords()
    {
        const string Calls = """[{"call_id":"c1","name":"f","arguments":"{}"}]""";
        List<ChatMessage> prompt =
        [
            new(ChatRole.System, "Be brief."),
            new(ChatRole.User, "q1"),
            ToolCall.MessagesOf("assistant", "", Calls).Single(),
            ToolCall.MessagesOf("tool", "out1", """[{"call_id":"c1","output":"out1"}]""").Single(),
            new(ChatRole.Assistant, "a1"),
            ToolCall.MessagesOf("assistant", "thinking", Calls).Single(),
            new(ChatRole.User, "q2 instead of an output"),
            ToolCall.MessagesOf("tool", "lost", """[{"call_id":"gone","output":"lost"}]""").Single(),
        ];

        ToolCall.KeepAnsweredCalls(prompt);

        Assert.Equal(
            [ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant, ChatRole.Assistant, ChatRole.User, ChatRole.User],
            prompt.Select(message => message.Role));
        Assert.Single(prompt[2].Contents.OfType<FunctionCallContent>());
        Assert.Equal("thinking", prompt[5].Text);
        Assert.Empty(prompt[5].Contents.OfType<FunctionCallContent>());
        Assert.Equal("lost", prompt[7].Text);
    }

    [Fact]
    public void TheSystemPromptComesFirstThenTheEarlierTurnsOldestFirstThenTheNewMessage()
    {
        var builder = Builder(budget: 10_000);

        var prompt = builder.Build(NewestFirst(Turn(1, "one", "echo: one"), Turn(3, "two", "echo: two")), "three", Cost, out var tokens);

        Assert.Equal(
            [(ChatRole.System, "Be brief."), (ChatRole.User, "one"), (ChatRole.Assistant, "echo: one"),
                (ChatRole.User, "two"), (ChatRole.Assistant, "echo: two"), (ChatRole.User, "three")],
            prompt.Select(message => (message.Role, message.Text)));
        Assert.Equal(builder.SystemPromptTokens + (5 * Cost), tokens);
    }

    [Fact]
    public void TheOldestTurnsAreDroppedWholeToFitTheBudget()
    {
        var system = Builder(budget: 10_000).SystemPromptTokens;
        // Room for the new message and two turns of two messages, and a little to spare: not for a third turn.
        var builder = Builder(budget: system + Cost + (4 * Cost) + (Cost / 2));

        var prompt = builder.Build(
            NewestFirst(Turn(1, "one", "r1"), Turn(3, "two", "r2"), Turn(5, "three", "r3")), "four", Cost, out var tokens);

        Assert.Equal(["Be brief.", "two", "r2", "three", "r3", "four"], prompt.Select(message => message.Text));
        Assert.Equal(system + (5 * Cost), tokens);
        Assert.True(tokens <= builder.Budget);
    }

    [Fact]
    public void ATurnThatDoesNotFitEndsTheHistoryThoughAnOlderOneWouldFit()
    {
        var system = Builder(budget: 10_000).SystemPromptTokens;
        var builder = Builder(budget: system + Cost + (2 * Cost) + (3 * Cost));
        var big = new ContextMessage("user", "a long one", 3, 5 * Cost);

        var prompt = builder.Build(
            [new ContextMessage("assistant", "r3", 6, Cost), new ContextMessage("user", "three", 5, Cost),
                new ContextMessage("assistant", "r2", 4, Cost), big, .. NewestFirst(Turn(1, "one", "r1"))],
            "four", Cost, out _);

        Assert.Equal(["Be brief.", "three", "r3", "four"], prompt.Select(message => message.Text));
    }

    [Fact]
    public void AMessageWithoutTheReplyDirectlyAfterItIsLeftOutWithoutEndingTheHistory()
    {
        var builder = Builder(budget: 10_000);
        // Message 3 failed: its reply's number (4) was never stored.
        ContextMessage[] newestFirst =
        [
            new("assistant", "r5", 6, Cost), new("user", "five", 5, Cost),
            new("user", "failed", 3, Cost),
            new("assistant", "r1", 2, Cost), new("user", "one", 1, Cost),
        ];

        var prompt = builder.Build(newestFirst, "seven", Cost, out _);

        Assert.Equal(["Be brief.", "one", "r1", "five", "r5", "seven"], prompt.Select(message => message.Text));
    }

    [Fact]
    public void AStoredMessageWithoutATokenCountIsCountedByTheModelsTokenizer()
    {
        var builder = Builder(budget: 10_000);
        ContextMessage[] newestFirst = [new("assistant", "a reply of a few words", 2, null), new("user", "a question", 1, null)];

        builder.Build(newestFirst, "next", Cost, out var tokens);

        Assert.Equal(builder.SystemPromptTokens + Cost + builder.Count("a question") + builder.Count("a reply of a few words"), tokens);
        Assert.True(builder.Count("a question") > PromptBuilder.MessageOverhead);
    }

    [Fact]
    public void AMessageFitsOnlyIfItFitsBesideTheSystemPrompt()
    {
        var system = Builder(budget: 10_000).SystemPromptTokens;
        var builder = Builder(budget: system + 100);

        Assert.True(builder.Fits(100));
        Assert.False(builder.Fits(101));
    }

    private static PromptBuilder Builder(int budget) => new(
        Options.Create(new ModelOptions { Connection = new ModelConnection(ModelProvider.OpenAI, null, null, "gpt-4o-mini") }),
        Options.Create(new ChatTurnOptions { SystemPrompt = "Be brief.", HistoryTokenBudget = budget }));

    // A message numbered messageNo and its reply right after it.
    private static (ContextMessage Message, ContextMessage Reply) Turn(int messageNo, string message, string reply) =>
        (new ContextMessage("user", message, messageNo, Cost), new ContextMessage("assistant", reply, messageNo + 1, Cost));

    // As the store reads them: newest first, each reply before its message.
    private static ContextMessage[] NewestFirst(params (ContextMessage Message, ContextMessage Reply)[] oldestFirst) =>
        [.. oldestFirst.Reverse().SelectMany(turn => new[] { turn.Reply, turn.Message })];
}
