using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// The API key scheme: a request with <c>Authorization: Bearer cbk_...</c> is the key's user (<see cref="UserIdOf"/>,
/// which <see cref="Caller"/> takes as its <see cref="Caller.TokenUserId"/>). The key's hash is looked up in the
/// database, so a revoked key is refused at once on every instance; only an endpoint marked
/// <see cref="KeyCheckedByTheTurn"/> (a send) takes a key this instance found within the last minute from memory, and
/// its principal then names the key its turn's first transaction must check (<see cref="UncheckedKeyOf"/>). A request
/// without a key is left to the other schemes (<see cref="AuthenticateResult.NoResult"/>); one with a malformed,
/// unknown or revoked key fails, and its challenge is a 401 that says only that the key is not valid.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The claim of a key's principal that holds its user's numeric user_id.</summary>
    public const string UserIdClaim = "chatbackend:user_id";

    /// <summary>The claim of a principal let in from memory: the id of the key its turn must check.</summary>
    public const string UncheckedKeyClaim = "chatbackend:unchecked_api_key";

    /// <summary>Why a key was refused; the same words whatever was wrong with it.</summary>
    public const string NotValid = "The API key is not valid: it is malformed, unknown or revoked.";

    /// <summary>The WWW-Authenticate header of a refused key.</summary>
    public const string Challenge = $"Bearer error=\"invalid_token\", error_description=\"{NotValid}\"";

    private const string Bearer = "Bearer ";

    /// <summary>The API key in the request's <c>Authorization: Bearer</c> header, if that holds one (cbk_...).</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        // Read as JwtBearer reads its token, so that the two schemes never disagree on what the header holds.
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var credential = authorization[Bearer.Length..].Trim();
        return credential.StartsWith(ApiKeySecret.Prefix, StringComparison.Ordinal) ? credential : null;
    }

    /// <summary>The user_id of a principal this scheme made; null for any other (a token's claims are never read as one).</summary>
    public static long? UserIdOf(ClaimsPrincipal principal) => ClaimOf(principal, UserIdClaim);

    /// <summary>The id of the key a principal of this scheme was let in by from memory, unchecked; null for any other.</summary>
    public static long? UncheckedKeyOf(ClaimsPrincipal principal) => ClaimOf(principal, UncheckedKeyClaim);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (PresentedKey(Request) is not { } key)
        {
            return AuthenticateResult.NoResult();
        }
        // A send's first transaction checks the key in its own round trip; every other request looks it up first.
        if (Context.GetEndpoint()?.Metadata.GetMetadata<KeyCheckedByTheTurn>() is not null && keys.Remembered(key) is { } remembered)
        {
            return Success(remembered, fromMemory: true);
        }
        return await keys.FindAsync(key, Context.RequestAborted) is { } found
            ? Success(found, fromMemory: false)
            : AuthenticateResult.Fail(NotValid);
    }

    private static AuthenticateResult Success(FoundKey key, bool fromMemory)
    {
        List<Claim> claims = [new(UserIdClaim, key.UserId.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64)];
        if (fromMemory)
        {
            claims.Add(new Claim(UncheckedKeyClaim, key.Id.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));
        }
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    private static long? ClaimOf(ClaimsPrincipal principal, string type) =>
        principal.Identities.FirstOrDefault(identity => identity.AuthenticationType == SchemeName)?.FindFirst(type) is { } claim
        && long.TryParse(claim.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    // The body is the 401's problem details (UseStatusCodePages, Problems.Customize), with this reason.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Context.Items[Problems.ChallengeReasonKey] = NotValid;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = Challenge;
        return Task.CompletedTask;
    }
}
