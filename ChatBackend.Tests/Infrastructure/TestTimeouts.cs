namespace ChatBackend.Tests.Infrastructure;

/// <summary>How long a test waits for any one thing before it fails with a message instead of hanging.</summary>
public static class TestTimeouts
{
    /// <summary>One awaited step of a test against the API: a reply, a stream's end, a server's stop.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>One step of a whole app model: DCP, a database server, the migrator and the API starting or stopping.</summary>
    public static readonly TimeSpan AppHostBound = TimeSpan.FromMinutes(2);

    /// <summary>Cancelled after <paramref name="limit"/> (else <see cref="Bound"/>) or when the test itself is cancelled.</summary>
    public static CancellationTokenSource Cancellation(TimeSpan? limit = null)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(limit ?? Bound);
        return source;
    }

    /// <summary><paramref name="task"/>, failed with a <see cref="TimeoutException"/> if it takes longer than <see cref="Bound"/>.</summary>
    public static Task<T> Bounded<T>(this Task<T> task) => task.WaitAsync(Bound, TestContext.Current.CancellationToken);

    /// <inheritdoc cref="Bounded{T}(Task{T})"/>
    public static Task Bounded(this Task task) => task.WaitAsync(Bound, TestContext.Current.CancellationToken);
}
