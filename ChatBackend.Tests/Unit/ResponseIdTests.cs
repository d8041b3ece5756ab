using ChatBackend.ApiService.Data;

namespace ChatBackend.Tests.Unit;

/// <summary>A response's id carries its conversation's (V18), so its row is found by the message's own key.</summary>
[Trait("Category", "Unit")]
public sealed class ResponseIdTests
{
    [Theory]
    [InlineData("abcdefgh-ijkl")]
    [InlineData("x")]
    [InlineData("12345678901234567890")]
    [InlineData("a-client's~id!")]
    public void AResponseIdNamesTheConversationItWasMadeInAndFitsAMessageId(string conversationId)
    {
        var id = Ids.NewResponseId(conversationId);

        Assert.StartsWith(Ids.ResponsePrefix, id, StringComparison.Ordinal);
        Assert.True(ResponseQueries.IsResponseId(id));
        Assert.True(Ids.IsMessageId(id));
        Assert.Equal(conversationId, Ids.ConversationOfResponse(id));
        Assert.NotEqual(id, Ids.NewResponseId(conversationId));
    }

    [Theory]
    [InlineData("resp_0123456789abcdefghijklmnopqrs")]
    [InlineData("resp_0123456789abcdefgh_")]
    [InlineData("resp_0123456789abcdefgh_6")]
    [InlineData("resp_0123456789abcdefgh_zz")]
    [InlineData("resp_0123456789abcdefgh_00")]
    [InlineData("resp_0123456789abcdefgh_c3a9")]
    [InlineData("resp_0123456789abcdefgh-6162")]
    [InlineData("m-0123456789abcdefgh_6162")]
    [InlineData("resp_short_6162")]
    public void AnIdMadeBeforeOrByAClientNamesNoConversation(string id) =>
        Assert.Null(Ids.ConversationOfResponse(id));
}
