using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

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
    public RateLimited? TryAdmit(long userId, out IDisposable? turnPermit)
    {
        turnPermit = null;
        if (_sends is not null)
        {
            using var send = _sends.AttemptAcquire(userId);
            if (!send.IsAcquired)
            {
                return new RateLimited(
                    RateLimit.SendsPerMinute, _options.SendsPerMinute!.Value,
                    send.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1));
            }
        }
        if (_turns is not null)
        {
            var permit = _turns.AttemptAcquire(userId);
            if (!permit.IsAcquired)
            {
                permit.Dispose();
                return new RateLimited(RateLimit.ConcurrentTurns, _options.ConcurrentTurnsPerUser!.Value, ConcurrencyRetryAfter);
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
