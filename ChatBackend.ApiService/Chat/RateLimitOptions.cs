using System.ComponentModel.DataAnnotations;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Per-user limits on starting turns (section "RateLimits"). With a bearer scheme configured they default to 30 sends
/// a minute and 4 turns at once; without one they are off unless set.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Sends and streams a user may start per minute (a token bucket: up to this many at once, then evenly).</summary>
    [Range(1, 10_000_000)]
    public int? SendsPerMinute { get; set; }

    /// <summary>Replies a user may have generated at once on an instance.</summary>
    [Range(1, 100_000)]
    public int? ConcurrentTurnsPerUser { get; set; }
}
