using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Extensions;

public static class TurnLimitsExtensions
{
    /// <summary>
    /// What admits a turn: the per-user rate limits (on by default with a bearer scheme: 30 sends a minute, 4 turns at
    /// once) and the daily token quota, with the usage they count.
    /// </summary>
    public static IHostApplicationBuilder AddTurnLimits(this IHostApplicationBuilder builder)
    {
        var bearer = builder.Configuration.HasBearerScheme();
        builder.Services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.SectionName)
            .PostConfigure(options =>
            {
                if (bearer)
                {
                    options.SendsPerMinute ??= 30;
                    options.ConcurrentTurnsPerUser ??= 4;
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<QuotaOptions>()
            .BindConfiguration(QuotaOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<TurnLimits>();
        builder.Services.AddSingleton<UsageQueries>();
        builder.Services.AddSingleton<TurnAdmission>();
        return builder;
    }
}
