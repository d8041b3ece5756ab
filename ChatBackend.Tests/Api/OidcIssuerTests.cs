using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ChatBackend.Tests.Infrastructure;

namespace ChatBackend.Tests.Api;

/// <summary>
/// A bearer scheme with an OIDC Authority: a test issuer on loopback with a discovery document and a JWKS of RSA
/// keys, one of them rotated while the API runs.
/// </summary>
[Trait("Category", "Api")]
public sealed class OidcIssuerTests : IClassFixture<OidcIssuerTests.Fixture>, IAsyncDisposable
{
    private readonly ScriptedChatClient _model = new();
    private readonly OidcIssuer _issuer;
    private readonly ApiFactory _api;

    // An API of its own per test: the bearer handler asks the issuer again for an unknown key at most once per refresh
    // interval (minutes), so one test's unknown key would keep another's rotated key unknown.
    public OidcIssuerTests(Fixture fixture)
    {
        _issuer = fixture.Issuer;
        _api = new ApiFactory(fixture.ConnectionString, _model, _issuer.Settings());
    }

    public ValueTask DisposeAsync() => _api.DisposeAsync();

    /// <summary>The issuer and one database, for the class's tests.</summary>
    public sealed class Fixture(DatabaseFixture database) : IAsyncLifetime
    {
        public OidcIssuer Issuer { get; private set; } = null!;

        public string ConnectionString { get; private set; } = "";

        public async ValueTask InitializeAsync()
        {
            Issuer = await OidcIssuer.StartAsync();
            ConnectionString = await database.CreateMigratedDatabaseAsync("oidc");
        }

        public async ValueTask DisposeAsync() => await Issuer.DisposeAsync();
    }

    [Fact]
    public async Task TokensOfTheIssuerAreAcceptedAndARotatedKeyIsFetchedFromItsJwks()
    {
        var subject = Tokens.NewSubject();
        using var first = Client(_issuer.Create(subject));
        var before = await SendAsync(first, "signed with the first key");
        var readsBefore = _issuer.JwksReads;

        _issuer.Rotate();
        using var rotated = Client(_issuer.Create(subject));
        // The handler asks the issuer again when a token names a key it does not know; the refresh lands within
        // moments, and until then such a token is a 401, never accepted unchecked.
        var deadline = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var response = await rotated.PostAsJsonAsync("/chat-message", new { message = "signed with the new key" }, TestContext.Current.CancellationToken);
            status = response.StatusCode;
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"Unexpected {(int)status}.");
        }
        while (status != HttpStatusCode.OK && deadline.Elapsed < TimeSpan.FromSeconds(20) && await Delay());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(_issuer.JwksReads > readsBefore, "The rotated key came from a new read of the JWKS.");
        using var list = await first.GetAsync("/conversations", TestContext.Current.CancellationToken);
        Assert.Equal(2, (await list.ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetArrayLength());
        Assert.NotEmpty(before.Str("conversation_id"));
    }

    [Fact]
    public async Task TokensSignedByAKeyTheIssuerNeverPublishedOrNamingAnotherIssuerAre401s()
    {
        var subject = Tokens.NewSubject();
        using var valid = Client(_issuer.Create(subject));
        await SendAsync(valid, "hello");

        foreach (var token in new[]
                 {
                     _issuer.Create(new TokenRequest(subject, WrongKey: true)),
                     _issuer.Create(new TokenRequest(subject, Issuer: "http://127.0.0.1:1/not-the-authority")),
                     _issuer.Create(new TokenRequest(subject, Audience: "another-api")),
                 })
        {
            using var client = Client(token);
            using var response = await client.PostAsJsonAsync("/chat-message", new { message = "hi" }, TestContext.Current.CancellationToken);
            await response.ExpectAsync(HttpStatusCode.Unauthorized);
        }
        Assert.Equal(1, _model.CallCount);
    }

    private HttpClient Client(string token) => _api.CreateHttpClient().WithToken(token);

    private static async Task<System.Text.Json.JsonElement> SendAsync(HttpClient client, string message)
    {
        using var response = await client.PostAsJsonAsync("/chat-message", new { message });
        return await response.ExpectAsync(HttpStatusCode.OK);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(200);
        return true;
    }
}
