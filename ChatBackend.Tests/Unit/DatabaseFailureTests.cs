using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http;

namespace ChatBackend.Tests.Unit;

/// <summary>Which failures are an unavailable database (503), and which are the request's own or a bug.</summary>
[Trait("Category", "Unit")]
public sealed class DatabaseFailureTests
{
    [Fact]
    public void ARequestsOwnIOErrorOrABugIsNotAnUnavailableDatabase()
    {
        // Kestrel's bad request (a 413, a malformed body) is an IOException: it keeps its status, with no Retry-After.
        Assert.False(ChatDatabase.IsUnavailable(new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge)));
        Assert.False(ChatDatabase.IsUnavailable(new IOException("A file.")));
        Assert.False(ChatDatabase.IsUnavailable(new InvalidOperationException("A bug.")));
    }

    [Fact]
    public void AConnectionThatBrokeUnderAUnitIsAnUnavailableDatabase() =>
        Assert.True(ChatDatabase.IsUnavailable(new DatabaseUnavailableException(new EndOfStreamException())));
}
