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
/// database on every request, so a revoked key is refused at once on every instance. A request without a key is left
/// to the other schemes (<see cref="AuthenticateResult.NoResult"/>); one with a malformed, unknown or revoked key fails,
/// and its challenge is a 401 that says only that the key is not valid.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The claim of a key's principal that holds its user's numeric user_id.</summary>
    public const string UserIdClaim = "chatbackend:user_id";

    /// <summary>Why a key was refused; the same words whatever was wrong with it.</summary>
    public const string NotValid = "The API key is not valid: it is malformed, unknown or revoked.";

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
    public static long? UserIdOf(ClaimsPrincipal principal) =>
        principal.Identities.FirstOrDefault(identity => identity.AuthenticationType == SchemeName)?.FindFirst(UserIdClaim) is { } claim
        && long.TryParse(claim.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var userId)
            ? userId
            : null;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (PresentedKey(Request) is not { } key)
        {
            return AuthenticateResult.NoResult();
        }
        if (await keys.FindUserAsync(key, Context.RequestAborted) is not { } userId)
        {
            return AuthenticateResult.Fail(NotValid);
        }
        var identity = new ClaimsIdentity(
            [new Claim(UserIdClaim, userId.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    // The body is the 401's problem details (UseStatusCodePages, Problems.Customize), with this reason.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Context.Items[Problems.ChallengeReasonKey] = NotValid;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{NotValid}\"";
        return Task.CompletedTask;
    }
}
