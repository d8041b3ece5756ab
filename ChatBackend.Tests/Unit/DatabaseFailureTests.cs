using System.Net.Sockets;
using ChatBackend.ApiService.Data;

namespace ChatBackend.Tests.Unit;

/// <summary>Which failures of the database are an unavailable database (503), and which are a bug (500).</summary>
[Trait("Category", "Unit")]
public sealed class DatabaseFailureTests
{
    [Fact]
    public void AConnectionCutUnderAReadIsAnUnavailableDatabaseEvenWhenTheDriverLetsItThroughUnwrapped()
    {
        Assert.True(ChatDatabase.IsUnavailable(new EndOfStreamException()));
        Assert.True(ChatDatabase.IsUnavailable(new SocketException((int)SocketError.ConnectionReset)));
        Assert.True(ChatDatabase.IsUnavailable(new InvalidOperationException("wrapped", new IOException())));
    }

    [Fact]
    public void AnErrorOfTheCodeItselfIsNotAnUnavailableDatabase()
    {
        Assert.False(ChatDatabase.IsUnavailable(new InvalidOperationException("A bug.")));
        Assert.False(ChatDatabase.IsUnavailable(new FormatException()));
    }
}
