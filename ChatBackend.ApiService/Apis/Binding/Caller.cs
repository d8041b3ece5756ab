using System.Globalization;
using System.Security.Claims;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Who makes a request. With a bearer scheme configured, the user of its token: issuer and subject, mapped to the
/// numeric user_id every table keeps (<see cref="UserIdentities"/>); a user_id in the request may then be left out,
/// and must be that user's when it is given. With an API key (either mode), the key's user, by the same rules.
/// Without a scheme or a key, whoever the request's user_id names, as in the original.
/// </summary>
public sealed class Caller
{
    /// <summary>A caller without a token or API key: the request names its user.</summary>
    public static readonly Caller FromRequest = new(null);

    private readonly long? _tokenUserId;

    private Caller(long? tokenUserId, long? uncheckedKey = null) => (_tokenUserId, UncheckedKey) = (tokenUserId, uncheckedKey);

    /// <summary>
    /// The user of the request's bearer credential (a token or an API key), when it came with one; null when the
    /// request only names its user (no bearer scheme, no key).
    /// </summary>
    public long? TokenUserId => _tokenUserId;

    /// <summary>
    /// The id of the API key a send was let in by from memory (<see cref="KeyCheckedByTheTurn"/>): its turn's first
    /// transaction checks it. Null when the key was looked up, or there is none.
    /// </summary>
    public long? UncheckedKey { get; }

    public static async ValueTask<Caller> BindAsync(HttpContext context)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            return FromRequest;
        }
        if (ApiKeyAuthenticationHandler.UserIdOf(context.User) is { } keyUser)
        {
            return new Caller(keyUser, ApiKeyAuthenticationHandler.UncheckedKeyOf(context.User));
        }
        var claim = context.RequestServices.GetRequiredService<IOptions<UserClaimOptions>>().Value.SubjectClaim;
        // The token was refused at validation when it did not name its user (see UserAuthenticationExtensions).
        var (issuer, subject) = IdentityOf(context.User, claim)
            ?? throw new InvalidOperationException($"An authenticated token without its '{claim}' claim.");
        var users = context.RequestServices.GetRequiredService<UserIdentities>();
        return new Caller(await users.GetUserIdAsync(issuer, subject, context.RequestAborted));
    }

    /// <summary>
    /// The token's issuer and the value of its <paramref name="claim"/>; null when either is missing or longer than the
    /// table keeps. The claim is looked up by its name in the token and by the name JwtBearer maps it to
    /// (MapInboundClaims, "sub" becomes the name identifier claim).
    /// </summary>
    public static (string Issuer, string Subject)? IdentityOf(ClaimsPrincipal principal, string claim)
    {
        var subject = principal.FindFirst(claim)
            ?? (JsonWebTokenHandler.DefaultInboundClaimTypeMap.TryGetValue(claim, out var mapped) ? principal.FindFirst(mapped) : null);
        var issuer = principal.FindFirst(JwtRegisteredClaimNames.Iss)?.Value ?? subject?.Issuer;
        return subject is { Value: { Length: > 0 and <= UserIdentities.MaxLength } value }
            && issuer is { Length: > 0 and <= UserIdentities.MaxLength }
            ? (issuer, value)
            : null;
    }

    /// <summary>Whether <paramref name="requested"/> is a well-formed user_id of another user than the token's: a 403.</summary>
    public bool IsOtherUser(string? requested) =>
        _tokenUserId is { } own
        && long.TryParse(requested, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id)
        && id >= 1 && id != own;

    /// <summary>
    /// The 403 of a send whose user_id names another user than its credential's (<see cref="IsOtherUser"/>), or null.
    /// A key taken from memory is looked up first, so that a revoked one learns nothing of its user from the answer.
    /// </summary>
    public async Task<ProblemHttpResult?> OtherUserAsync(string? requested, ApiKeys keys, CancellationToken cancellationToken) =>
        !IsOtherUser(requested) ? null
        : await keys.StillValidAsync(UncheckedKey, cancellationToken) ? Problems.OtherUser()
        : Problems.For(new TurnOutcome.ApiKeyNotValid());

    /// <summary>
    /// The user of a request whose only field is its user_id (query string): null with the user, or the problem to
    /// answer, a 403 for another user's user_id or a 400 naming a missing or malformed one.
    /// </summary>
    public ProblemHttpResult? Resolve(string? requested, out long userId)
    {
        userId = 0;
        if (IsOtherUser(requested))
        {
            return Problems.OtherUser();
        }
        var errors = new Dictionary<string, string[]>();
        if (RequireUserId(requested, errors) is not { } owner || errors.Count > 0)
        {
            return Problems.Invalid(errors);
        }
        userId = owner;
        return null;
    }

    /// <summary>The user of a request that needs one: the token's, or the request's user_id (required, with its error).</summary>
    public long? RequireUserId(string? requested, Dictionary<string, string[]> errors) =>
        _tokenUserId is null ? QueryParameters.RequireUserId(requested, errors) : OptionalUserId(requested, errors);

    /// <summary>
    /// The user of a request that may go without one (the history, keyed by its conversation id without a scheme):
    /// the token's, or the request's. A malformed user_id is an error either way.
    /// </summary>
    public long? OptionalUserId(string? requested, Dictionary<string, string[]> errors)
    {
        var named = QueryParameters.OptionalUserId(requested, errors);
        return _tokenUserId ?? named;
    }
}
