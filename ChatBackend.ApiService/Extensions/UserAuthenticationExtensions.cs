using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Extensions;

/// <summary>
/// Users: JwtBearer from the standard section Authentication:Schemes:Bearer (an OIDC Authority with discovery and
/// key rotation, or the signing keys dotnet user-jwts writes) and the user claim; and API keys (Bearer cbk_...) in
/// either mode. Without that section the API works as the original: each request names its user, unless it carries
/// a key.
/// </summary>
public static partial class UserAuthenticationExtensions
{
    /// <summary>The section AddJwtBearer() binds by itself for its default scheme.</summary>
    public const string BearerSection = "Authentication:Schemes:Bearer";

    /// <summary>
    /// With a bearer scheme, the default scheme: it sends a request whose bearer credential is an API key to
    /// <see cref="ApiKeyAuthenticationHandler.SchemeName"/> and any other to JwtBearer.
    /// </summary>
    public const string BearerOrApiKeyScheme = "BearerOrApiKey";

    public static bool HasBearerScheme(this IConfiguration configuration) => configuration.GetSection(BearerSection).Exists();

    public static IHostApplicationBuilder AddUserAuthentication(this IHostApplicationBuilder builder)
    {
        var bearer = builder.Configuration.HasBearerScheme();
        builder.Services.AddOptions<UserClaimOptions>()
            .BindConfiguration(UserClaimOptions.SectionName)
            .Validate(options => !string.IsNullOrWhiteSpace(options.SubjectClaim), "Authentication:SubjectClaim must name a claim.")
            .ValidateOnStart();
        var authentication = builder.Services
            .AddAuthentication(bearer ? BearerOrApiKeyScheme : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, configureOptions: null);
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddAuthorization();
        if (bearer)
        {
            authentication.AddPolicyScheme(BearerOrApiKeyScheme, "A bearer token or an API key", options =>
                options.ForwardDefaultSelector = context => ApiKeyAuthenticationHandler.PresentedKey(context.Request) is null
                    ? JwtBearerDefaults.AuthenticationScheme
                    : ApiKeyAuthenticationHandler.SchemeName);
            // Only events and one flag are set here: the TokenValidationParameters AddJwtBearer() bound from the
            // section (issuers, audiences, signing keys) are kept, not replaced (aspnetcore #63891).
            authentication.AddJwtBearer(options =>
            {
                // With an Authority, the issuer its discovery document names is the one accepted (the handler adds
                // it to the valid issuers); with signing keys, ValidIssuer. Never any issuer at all.
                options.TokenValidationParameters.ValidateIssuer = true;
                options.Events = new JwtBearerEvents
                {
                    OnTokenValidated = RequireUserClaim,
                    OnChallenge = context =>
                    {
                        context.HttpContext.Items[Problems.ChallengeReasonKey] = context.AuthenticateFailure switch
                        {
                            null => "The request has no bearer token (Authorization: Bearer ...).",
                            // Our own refusal (RequireUserClaim) says what the token lacks.
                            AuthenticationFailureException own => own.Message,
                            _ => string.IsNullOrEmpty(context.ErrorDescription) ? "The bearer token is not valid." : context.ErrorDescription,
                        };
                        return Task.CompletedTask;
                    },
                };
            });
        }
        builder.Services.AddSingleton<UserIdentities>();

        return builder;
    }

    /// <summary>
    /// Authentication and authorization, and one warning at start when requests name their own user. Without a bearer
    /// scheme only a request that carries an API key is authenticated, and it must carry a valid one (an invalid key is
    /// challenged, a 401, never a request that falls back to its user_id); the others, the original's, pass through
    /// untouched: no handler and no policy runs on the hot path of the send.
    /// </summary>
    public static WebApplication UseUserAuthentication(this WebApplication app)
    {
        if (!app.Configuration.HasBearerScheme())
        {
            app.Use(static (context, next) =>
                ApiKeyAuthenticationHandler.PresentedKey(context.Request) is null ? next(context) : AuthenticateKeyAsync(context, next));
            LogNoScheme(app.Logger, BearerSection);
            return app;
        }
        app.UseAuthentication();
        app.UseAuthorization();
        if (app.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme)
                 .TokenValidationParameters.ValidAudiences?.Any() != true)
        {
            LogNoAudience(app.Logger, BearerSection);
        }
        return app;
    }

    /// <summary>
    /// The chat, conversation and API key endpoints: a valid token or API key is required when a bearer scheme is
    /// configured; without one, a request may name its user, but an API key it carries must be valid
    /// (<see cref="UseUserAuthentication"/>).
    /// </summary>
    public static RouteGroupBuilder MapUserEndpoints(this WebApplication app)
    {
        var group = app.MapGroup("");
        if (app.Configuration.HasBearerScheme())
        {
            group.RequireAuthorization();
        }
        group.ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return group;
    }

    private static async Task AuthenticateKeyAsync(HttpContext context, RequestDelegate next)
    {
        var result = await context.AuthenticateAsync(ApiKeyAuthenticationHandler.SchemeName);
        if (!result.Succeeded)
        {
            await context.ChallengeAsync(ApiKeyAuthenticationHandler.SchemeName);
            return;
        }
        context.User = result.Principal;
        await next(context);
    }

    // A token that does not say who its user is (or says it at a length the user table cannot keep) is refused as
    // invalid: a 401 with this reason.
    private static Task RequireUserClaim(TokenValidatedContext context)
    {
        var claim = context.HttpContext.RequestServices.GetRequiredService<IOptions<UserClaimOptions>>().Value.SubjectClaim;
        if (context.Principal is null || Caller.IdentityOf(context.Principal, claim) is null)
        {
            context.Fail($"The token has no '{claim}' claim of 1 to {UserIdentities.MaxLength} characters, or no issuer.");
        }
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No bearer scheme is configured ({Section}): every request names its own user with user_id, as the original's clients do. Configure one before exposing the API.")]
    private static partial void LogNoScheme(ILogger logger, string section);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The bearer scheme ({Section}) has no ValidAudiences: a token of its issuer for any audience is accepted.")]
    private static partial void LogNoAudience(ILogger logger, string section);
}
