using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>What a test asks of a token; every field defaults to a valid one.</summary>
public sealed record TokenRequest(
    string Subject, string? Issuer = null, string? Audience = null, TimeSpan? ExpiresIn = null, bool WrongKey = false,
    string SubjectClaim = "sub");

/// <summary>
/// Tokens as <c>dotnet user-jwts create</c> makes them: HS256 with a 32-byte key, issuer "dotnet-user-jwts", and the
/// API's settings in the shape it writes them (ValidIssuer, ValidAudiences, SigningKeys with Issuer and a base64 Value).
/// </summary>
public sealed class SymmetricTokens
{
    public const string Issuer = "dotnet-user-jwts";
    public const string Audience = "http://localhost:5555";
    private const string Section = "Authentication:Schemes:Bearer";

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public Dictionary<string, string?> Settings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            [$"{Section}:ValidIssuer"] = Issuer,
            [$"{Section}:ValidAudiences:0"] = Audience,
            [$"{Section}:SigningKeys:0:Id"] = "test-key",
            [$"{Section}:SigningKeys:0:Issuer"] = Issuer,
            [$"{Section}:SigningKeys:0:Value"] = Convert.ToBase64String(_key),
            [$"{Section}:SigningKeys:0:Length"] = "32",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }
        return settings;
    }

    public string Create(TokenRequest request) => Tokens.Create(
        request, request.Issuer ?? Issuer, request.Audience ?? Audience,
        new SigningCredentials(new SymmetricSecurityKey(request.WrongKey ? RandomNumberGenerator.GetBytes(32) : _key), SecurityAlgorithms.HmacSha256));

    public string Create(string subject) => Create(new TokenRequest(subject));
}

/// <summary>
/// An OpenID Connect issuer on loopback: its discovery document and JWKS over real HTTP, RSA keys, and a key that can
/// be rotated while the API runs (the new key signs; the JWKS then publishes both).
/// </summary>
public sealed class OidcIssuer : IAsyncDisposable
{
    public const string Audience = "chatbackend-api";

    private readonly WebApplication _app;
    private readonly List<RsaSecurityKey> _keys = [NewKey()];
    private int _jwksReads;

    private OidcIssuer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public int JwksReads => Volatile.Read(ref _jwksReads);

    public static async Task<OidcIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var issuer = new OidcIssuer(app);
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer.Url,
            ["jwks_uri"] = $"{issuer.Url}/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
        }));
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref issuer._jwksReads);
            lock (issuer._keys)
            {
                return Results.Json(new { keys = issuer._keys.Select(Jwk).ToArray() });
            }
        });
        await app.StartAsync();
        issuer.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');
        return issuer;
    }

    public Dictionary<string, string?> Settings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Authentication:Schemes:Bearer:Authority"] = Url,
            ["Authentication:Schemes:Bearer:ValidAudiences:0"] = Audience,
            ["Authentication:Schemes:Bearer:RequireHttpsMetadata"] = "false",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>A new signing key; tokens from now on are signed with it, and the JWKS publishes it beside the old one.</summary>
    public void Rotate()
    {
        lock (_keys)
        {
            _keys.Add(NewKey());
        }
    }

    public string Create(TokenRequest request)
    {
        RsaSecurityKey key;
        lock (_keys)
        {
            key = _keys[^1];
        }
        if (request.WrongKey)
        {
            key = NewKey();
        }
        return Tokens.Create(request, request.Issuer ?? Url, request.Audience ?? Audience, new SigningCredentials(key, SecurityAlgorithms.RsaSha256));
    }

    public string Create(string subject) => Create(new TokenRequest(subject));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private static RsaSecurityKey NewKey() => new(RSA.Create(2048)) { KeyId = Guid.NewGuid().ToString("n") };

    private static Dictionary<string, string> Jwk(RsaSecurityKey key)
    {
        var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
        return new()
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["kid"] = key.KeyId,
            ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
            ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
        };
    }
}

public static class Tokens
{
    public static string Create(TokenRequest request, string issuer, string audience, SigningCredentials credentials)
    {
        var now = DateTime.UtcNow;
        var expires = now + (request.ExpiresIn ?? TimeSpan.FromMinutes(10));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim(request.SubjectClaim, request.Subject)]),
            IssuedAt = expires < now ? expires - TimeSpan.FromMinutes(1) : now,
            NotBefore = expires < now ? expires - TimeSpan.FromMinutes(1) : now,
            Expires = expires,
            SigningCredentials = credentials,
        });
    }

    /// <summary>A client that sends this token with every request.</summary>
    public static HttpClient WithToken(this HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public static string NewSubject() => $"user-{Guid.NewGuid():n}";
}
