using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>
/// Branches on the native API: a send that follows an earlier message (an edit), a regenerated reply, the history of
/// the newest branch or of another, each message with its siblings, and the model given the path to the branch point only.
/// </summary>
[Trait("Category", "Api")]
public sealed class BranchesTests(ApiFixture api) : ApiTest(api), IClassFixture<ApiFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private Task<HttpResponseMessage> SendFollowingAsync(string message, long userId, string conversationId, string follows) =>
        Client.PostAsJsonAsync("/chat-message", new { message, user_id = userId, conversation_id = conversationId, follows }, Cancellation);

    private async Task<List<JsonElement>> MessagesAsync(string conversationId, string? branch = null)
    {
        using var response = await Client.GetAsync(
            $"/get-conversation-history/{conversationId}" + (branch is null ? "" : $"?branch={branch}"), Cancellation);
        return [.. (await response.ExpectAsync(HttpStatusCode.OK)).GetProperty("messages").EnumerateArray()];
    }

    private static List<string> Siblings(JsonElement message) =>
        [.. message.GetProperty("siblings").EnumerateArray().Select(id => id.GetString()!)];

    // A conversation "one", "two" of a new user: its id, the user, and the second turn's message and reply ids.
    private async Task<(string ConversationId, long UserId, string Second, string SecondReply)> TwoTurnsAsync()
    {
        var userId = ChatCalls.NewUserId();
        var first = await Client.SendOkAsync("one", userId);
        var conversationId = first.Str("conversation_id");
        var second = await Client.SendOkAsync("two", userId, conversationId);
        return (conversationId, userId, second.Str("message_id"), second.Str("reply_message_id"));
    }

    [Fact]
    public async Task AnEditedMessageIsASiblingBranchThatTheModelSeesWithoutTheMessageItReplaces()
    {
        var (conversationId, userId, second, secondReply) = await TwoTurnsAsync();

        using var response = await SendFollowingAsync("two, edited", userId, conversationId, follows: second);

        var edited = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(6, edited.Int("message_count"));
        Assert.Equal(["one", "echo: one", "two, edited"], Model.Calls[^1].Skip(1).Select(message => message.Text));
        var newest = await MessagesAsync(conversationId);
        Assert.Equal(["one", "echo: one", "two, edited", "echo: two, edited"], newest.Select(m => m.Str("message")));
        Assert.Equal([second, edited.Str("message_id")], Siblings(newest[2]));
        Assert.Equal([secondReply, edited.Str("reply_message_id")], Siblings(newest[3]));
        Assert.Single(Siblings(newest[0]));
        var older = await MessagesAsync(conversationId, branch: second);
        Assert.Equal(["one", "echo: one", "two", "echo: two"], older.Select(m => m.Str("message")));
    }

    [Fact]
    public async Task ASendThatNamesNoMessageContinuesTheNewestBranch()
    {
        var (conversationId, userId, second, _) = await TwoTurnsAsync();
        using (var edit = await SendFollowingAsync("two, edited", userId, conversationId, follows: second))
        {
            await edit.ExpectAsync(HttpStatusCode.OK);
        }

        await Client.SendOkAsync("three", userId, conversationId);

        Assert.Equal(["one", "echo: one", "two, edited", "echo: two, edited", "three"], Model.Calls[^1].Skip(1).Select(message => message.Text));
        Assert.Equal(6, (await MessagesAsync(conversationId)).Count);
    }

    [Fact]
    public async Task FollowingAnEarlierReplyContinuesFromItAndTheOlderBranchKeepsItsOwnContext()
    {
        var userId = ChatCalls.NewUserId();
        var first = await Client.SendOkAsync("one", userId);
        var conversationId = first.Str("conversation_id");
        var second = await Client.SendOkAsync("two", userId, conversationId);

        using (var branch = await SendFollowingAsync("other", userId, conversationId, follows: first.Str("reply_message_id")))
        {
            await branch.ExpectAsync(HttpStatusCode.OK);
        }
        Assert.Equal(["one", "echo: one", "other"], Model.Calls[^1].Skip(1).Select(message => message.Text));

        using (var back = await SendFollowingAsync("three", userId, conversationId, follows: second.Str("reply_message_id")))
        {
            await back.ExpectAsync(HttpStatusCode.OK);
        }
        Assert.Equal(["one", "echo: one", "two", "echo: two", "three"], Model.Calls[^1].Skip(1).Select(message => message.Text));
        Assert.Equal(["one", "echo: one", "two", "echo: two", "three", "echo: three"], (await MessagesAsync(conversationId)).Select(m => m.Str("message")));
    }

    [Fact]
    public async Task ARegeneratedReplyIsASiblingOfTheReplyItRegenerates()
    {
        var (conversationId, userId, _, secondReply) = await TwoTurnsAsync();
        Model.Behaviour = (_, _) => Task.FromResult("another two");

        using var response = await Client.PostAsync(
            $"/conversations/{conversationId}/messages/{secondReply}/regenerate?user_id={userId}", content: null, Cancellation);

        var regenerated = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("another two", regenerated.Str("message"));
        Assert.Equal(["one", "echo: one", "two"], Model.Calls[^1].Skip(1).Select(message => message.Text));
        var newest = await MessagesAsync(conversationId);
        Assert.Equal(["one", "echo: one", "two", "another two"], newest.Select(m => m.Str("message")));
        Assert.Equal([secondReply, regenerated.Str("reply_message_id")], Siblings(newest[3]));
    }

    [Fact]
    public async Task ALinearConversationsHistoryHasNoSiblings()
    {
        var (conversationId, _, _, _) = await TwoTurnsAsync();

        Assert.All(await MessagesAsync(conversationId), message => Assert.False(message.TryGetProperty("siblings", out _)));
    }

    [Fact]
    public async Task AMessageToFollowThatIsNotThereIsA404NamingFollowsAndStoresNothing()
    {
        var (conversationId, userId, _, _) = await TwoTurnsAsync();

        using var response = await SendFollowingAsync("lost", userId, conversationId, follows: "no-such-message");

        var problem = await response.ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("follows", problem.Str("field"));
        Assert.Equal(4, (await Client.HistoryAsync(conversationId)).Int("message_count"));
    }

    [Fact]
    public async Task FollowsWithoutAConversationIsA400NamingIt()
    {
        using var response = await Client.PostAsJsonAsync(
            "/chat-message", new { message = "x", user_id = ChatCalls.NewUserId(), follows = "m-1" }, Cancellation);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("follows", out _));
    }

    [Fact]
    public async Task AnUnknownBranchOrARegenerationOfAnUnknownMessageIsA404()
    {
        var (conversationId, userId, _, _) = await TwoTurnsAsync();

        using var history = await Client.GetAsync($"/get-conversation-history/{conversationId}?branch=nope", Cancellation);
        Assert.Equal("branch", (await history.ExpectProblemAsync(HttpStatusCode.NotFound)).Str("field"));
        using var regenerate = await Client.PostAsync(
            $"/conversations/{conversationId}/messages/nope/regenerate?user_id={userId}", content: null, Cancellation);
        await regenerate.ExpectProblemAsync(HttpStatusCode.NotFound);
    }
}
