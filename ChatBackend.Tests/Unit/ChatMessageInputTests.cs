using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Chat;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ChatBackend.Tests.Unit;

/// <summary>Unit tests of validation and handlers, called directly without HTTP.</summary>
[Trait("Category", "Unit")]
public sealed class ChatMessageInputTests
{
    // The configured model alone, as Chat:Models left unset gives.
    private static readonly ModelCatalog Models = new(
        Microsoft.Extensions.Options.Options.Create(new ChatTurnOptions()),
        Microsoft.Extensions.Options.Options.Create(new ChatBackend.ApiService.Model.ModelOptions()));

    [Fact]
    public void ValidInputBecomesARequestWithEmptyIdsAsAbsent()
    {
        var input = ChatMessageInput.From([new("message", "hi"), new("user_id", "7"), new("message_id", ""), new("conversation_id", " ")]);

        Assert.True(input.TryValidate(Caller.FromRequest, 100, Models, out var request, out _));
        Assert.Equal(new TurnRequest("hi", 7, null, null), request);
    }

    [Fact]
    public void MessageCountIsAcceptedButNeverRequired()
    {
        var withCount = ChatMessageInput.From([new("message", "hi"), new("user_id", "1"), new("message_count", "3")]);
        var without = ChatMessageInput.From([new("message", "hi"), new("user_id", "1")]);

        Assert.True(withCount.TryValidate(Caller.FromRequest, 100, Models, out _, out _));
        Assert.True(without.TryValidate(Caller.FromRequest, 100, Models, out _, out _));
    }

    [Fact]
    public void EveryInvalidFieldIsReported()
    {
        var input = ChatMessageInput.From([new("message", ""), new("user_id", "-3"), new("message_id", "no spaces please")]);

        Assert.False(input.TryValidate(Caller.FromRequest, 100, Models, out _, out var errors));
        Assert.Equal(["message", "message_id", "user_id"], errors.Keys.Order());
    }

    [Fact]
    public void RootHandlerSaysWorking()
    {
        Ok<StatusResponse> result = StatusApi.GetStatus();

        Assert.Equal("Working", result.Value!.Status);
    }
}
