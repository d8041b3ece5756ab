using Microsoft.IdentityModel.JsonWebTokens;

namespace ChatBackend.ApiService.Apis;

/// <summary>The user claim of a token (section "Authentication").</summary>
public sealed class UserClaimOptions
{
    public const string SectionName = "Authentication";

    /// <summary>The claim that names the user, "sub" by default; the user is this claim within the token's issuer.</summary>
    public string SubjectClaim { get; set; } = JwtRegisteredClaimNames.Sub;
}
