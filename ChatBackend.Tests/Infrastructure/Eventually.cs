namespace ChatBackend.Tests.Infrastructure;

/// <summary>Waits for something another process or a background task makes true, polling it.</summary>
public static class Eventually
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns once <paramref name="condition"/> holds; fails the test, naming <paramref name="what"/>, if it does not within <paramref name="limit"/> (else <see cref="TestTimeouts.Bound"/>).</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan? limit = null)
    {
        if (!await HoldsWithinAsync(condition, limit ?? TestTimeouts.Bound))
        {
            Assert.Fail($"Still not so after {limit ?? TestTimeouts.Bound}: {what}.");
        }
    }

    /// <inheritdoc cref="WaitForAsync(Func{Task{bool}}, string, TimeSpan?)"/>
    public static Task WaitForAsync(Func<bool> condition, string what, TimeSpan? limit = null) =>
        WaitForAsync(() => Task.FromResult(condition()), what, limit);

    /// <summary>Whether <paramref name="condition"/> came to hold within <paramref name="limit"/>, for a test that then says itself what it saw.</summary>
    public static async Task<bool> HoldsWithinAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        using var deadline = TestTimeouts.Cancellation(limit);
        while (!await condition())
        {
            try
            {
                await Task.Delay(Poll, deadline.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                return await condition();
            }
        }
        return true;
    }

    /// <inheritdoc cref="HoldsWithinAsync(Func{Task{bool}}, TimeSpan)"/>
    public static Task<bool> HoldsWithinAsync(Func<bool> condition, TimeSpan limit) =>
        HoldsWithinAsync(() => Task.FromResult(condition()), limit);
}
