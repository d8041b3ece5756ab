using System.ComponentModel.DataAnnotations;

namespace ChatBackend.ApiService.Chat;

/// <summary>The daily token quota (section "Quotas").</summary>
public sealed class QuotaOptions
{
    public const string SectionName = "Quotas";

    /// <summary>Input and output tokens a user's replies may cost per UTC day; 0 turns the quota off.</summary>
    [Range(0, long.MaxValue)]
    public long DailyTokensPerUser { get; set; }
}
