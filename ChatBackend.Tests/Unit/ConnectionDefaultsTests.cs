using ChatBackend.ApiService.Data;
using MySqlConnector;

namespace ChatBackend.Tests.Unit;

/// <summary>What the API sets on every connection string it is given.</summary>
[Trait("Category", "Unit")]
public sealed class ConnectionDefaultsTests
{
    [Fact]
    public void ConnectionResetIsSkippedUnlessTheConnectionStringAsksForIt()
    {
        var silent = new MySqlConnectionStringBuilder("Server=db;Database=chatdb");
        var explicitReset = new MySqlConnectionStringBuilder("Server=db;Database=chatdb;Connection Reset=true");

        ChatDatabase.ApplyConnectionDefaults(silent);
        ChatDatabase.ApplyConnectionDefaults(explicitReset);

        Assert.False(silent.ConnectionReset);
        Assert.True(explicitReset.ConnectionReset);
    }
}
