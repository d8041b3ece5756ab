using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using MySqlConnector;

namespace ChatBackend.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ConnectionStringTests
{
    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build();

    [Fact]
    public void ConnectionStringsChatdbWinsOverTheOriginalsVariables()
    {
        var configuration = Configuration(("ConnectionStrings:chatdb", "Server=aspire;Database=chatdb"), ("DB_HOST", "legacy"));

        Assert.Equal("Server=aspire;Database=chatdb", MySqlExtensions.ResolveConnectionString(configuration, "chatdb"));
    }

    [Fact]
    public void TheOriginalsDbVariablesBuildTheConnectionStringWhenNoneIsGiven()
    {
        var configuration = Configuration(
            ("DB_HOST", "db.internal"), ("DB_PORT", "3307"), ("DB_USER", "chat"), ("DB_PASSWORD", "p@ss;word"),
            ("DB_NAME", "chatdb"), ("DB_SSL_CA", "/etc/ssl/ca.pem"));

        var built = new MySqlConnectionStringBuilder(MySqlExtensions.ResolveConnectionString(configuration, "chatdb"));

        Assert.Equal("db.internal", built.Server);
        Assert.Equal(3307u, built.Port);
        Assert.Equal("chat", built.UserID);
        Assert.Equal("p@ss;word", built.Password);
        Assert.Equal("chatdb", built.Database);
        Assert.Equal("/etc/ssl/ca.pem", built.SslCa);
        Assert.Equal(MySqlSslMode.VerifyCA, built.SslMode);
    }

    [Fact]
    public void NoDatabaseSettingFailsAtStartNamingTheKeys()
    {
        var error = Assert.Throws<InvalidOperationException>(() => MySqlExtensions.ResolveConnectionString(Configuration(), "chatdb"));

        Assert.Contains("ConnectionStrings:chatdb", error.Message);
        Assert.Contains("DB_HOST", error.Message);
    }

    [Fact]
    public void ABadDbPortFailsNamingTheKey()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            MySqlExtensions.ResolveConnectionString(Configuration(("DB_HOST", "db"), ("DB_PORT", "http")), "chatdb"));

        Assert.Contains("DB_PORT", error.Message);
    }
}
