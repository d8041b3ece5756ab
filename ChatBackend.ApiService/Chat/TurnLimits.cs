using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

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

/// <summary>The daily token quota (section "Quotas").</summary>
public sealed class QuotaOptions
{
    public const string SectionName = "Quotas";

    /// <summary>Input and output tokens a user's replies may cost per UTC day; 0 turns the quota off.</summary>
    [Range(0, long.MaxValue)]
    public long DailyTokensPerUser { get; set; }
}

/// <summary>
/// The rate limits of <see cref="RateLimitOptions"/>, partitioned by user id, with System.Threading.RateLimiting's
/// limiters (those the ASP.NET Core middleware is built on). They are taken when a turn starts, not by the middleware
/// in front of the endpoint: the user may be named in a JSON or form body, known only once it is read, and a turn
/// outlives its request (a stream whose client went away goes on), so its concurrency permit is the turn's, held
/// until its reply is stored. They count this instance's turns; the daily quota is counted in the database.
/// </summary>
public sealed class TurnLimits : IDisposable
{
    // The partitioned limiter replenishes its buckets on a 100-ms tick, one period's tokens per tick at most.
    private static readonly TimeSpan ShortestPeriod = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(1);

    private readonly PartitionedRateLimiter<long>? _sends;
    private readonly PartitionedRateLimiter<long>? _turns;
    private readonly RateLimitOptions _options;

    public TurnLimits(IOptions<RateLimitOptions> options)
    {
        _options = options.Value;
        if (_options.SendsPerMinute is { } perMinute)
        {
            var period = TimeSpan.FromMinutes(1) / perMinute;
            var tokensPerPeriod = 1;
            if (period < ShortestPeriod)
            {
                tokensPerPeriod = (int)Math.Ceiling(perMinute * (ShortestPeriod / TimeSpan.FromMinutes(1)));
                period = ShortestPeriod;
            }
            _sends = PartitionedRateLimiter.Create<long, long>(userId => RateLimitPartition.GetTokenBucketLimiter(
                userId, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perMinute,
                    TokensPerPeriod = tokensPerPeriod,
                    ReplenishmentPeriod = period,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
        }
        if (_options.ConcurrentTurnsPerUser is { } concurrent)
        {
            _turns = PartitionedRateLimiter.Create<long, long>(userId => RateLimitPartition.GetConcurrencyLimiter(
                userId, _ => new ConcurrencyLimiterOptions { PermitLimit = concurrent, QueueLimit = 0 }));
        }
    }

    /// <summary>
    /// A send's admission: null with the turn's permit (to dispose when the turn ends), or why it is refused.
    /// </summary>
    public TurnOutcome.Limited? TryAdmit(long userId, out IDisposable? turnPermit)
    {
        turnPermit = null;
        if (_sends is not null)
        {
            using var send = _sends.AttemptAcquire(userId);
            if (!send.IsAcquired)
            {
                return new TurnOutcome.Limited(
                    "RateLimits:SendsPerMinute", _options.SendsPerMinute!.Value,
                    send.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1));
            }
        }
        if (_turns is not null)
        {
            var permit = _turns.AttemptAcquire(userId);
            if (!permit.IsAcquired)
            {
                permit.Dispose();
                return new TurnOutcome.Limited("RateLimits:ConcurrentTurnsPerUser", _options.ConcurrentTurnsPerUser!.Value, ConcurrencyRetryAfter);
            }
            turnPermit = permit;
        }
        return null;
    }

    public void Dispose()
    {
        _sends?.Dispose();
        _turns?.Dispose();
    }
}
