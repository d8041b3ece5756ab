using System.Collections.Concurrent;

namespace Aspire.Hosting;

/// <summary>Aspire's resource state names (KnownResourceStates).</summary>
public static class KnownResourceStates
{
    public const string Waiting = "Waiting";
    public const string Starting = "Starting";
    public const string Running = "Running";
    public const string Finished = "Finished";
    public const string Exited = "Exited";
    public const string FailedToStart = "FailedToStart";
    public const string Stopping = "Stopping";
    public const string Active = "Active";
    public const string NotStarted = "NotStarted";

    public static readonly string[] TerminalStates = [Finished, Exited, FailedToStart];
}

public enum HealthStatus
{
    Unhealthy,
    Healthy,
}

/// <summary>A resource's state at one moment. Health exists only while it runs.</summary>
public sealed record ResourceSnapshot(
    string State, HealthStatus? Health = null, int? ExitCode = null, string? Reason = null, int? ProcessId = null)
{
    public bool IsTerminal => KnownResourceStates.TerminalStates.Contains(State);

    /// <summary>The text the Aspire dashboard shows: "Running (Unhealthy)" for a running resource that is not healthy.</summary>
    public string DisplayState => State == KnownResourceStates.Running && Health == HealthStatus.Unhealthy
        ? "Running (Unhealthy)"
        : State;
}

/// <summary>Publishes resources' states and lets anyone wait for one (Aspire's ResourceNotificationService).</summary>
public sealed class ResourceNotificationService
{
    private readonly ConcurrentDictionary<string, ResourceSnapshot> _snapshots = new();
    private readonly List<(string Name, Func<ResourceSnapshot, bool> Predicate, TaskCompletionSource<ResourceSnapshot> Done)> _waiters = [];
    private readonly Lock _lock = new();

    /// <summary>Raised after each change, in order.</summary>
    public event Action<IResource, ResourceSnapshot>? Changed;

    public ResourceSnapshot? Get(string name) => _snapshots.GetValueOrDefault(name);

    public void Publish(IResource resource, ResourceSnapshot snapshot)
    {
        List<TaskCompletionSource<ResourceSnapshot>> satisfied;
        lock (_lock)
        {
            if (_snapshots.TryGetValue(resource.Name, out var previous) && previous == snapshot)
            {
                return;
            }
            _snapshots[resource.Name] = snapshot;
            satisfied = [.. _waiters.Where(w => w.Name == resource.Name && w.Predicate(snapshot)).Select(w => w.Done)];
            _waiters.RemoveAll(w => satisfied.Contains(w.Done));
            Changed?.Invoke(resource, snapshot);
        }
        foreach (var done in satisfied)
        {
            done.TrySetResult(snapshot);
        }
    }

    public Task<ResourceSnapshot> WaitForResourceAsync(string name, Func<ResourceSnapshot, bool> predicate, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_snapshots.TryGetValue(name, out var current) && predicate(current))
            {
                return Task.FromResult(current);
            }
            var done = new TaskCompletionSource<ResourceSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((name, predicate, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Running and healthy, or an error when the resource ends or fails first.</summary>
    public async Task WaitForResourceHealthyAsync(string name, CancellationToken cancellationToken)
    {
        var snapshot = await WaitForResourceAsync(name,
            s => (s.State == KnownResourceStates.Running && s.Health == HealthStatus.Healthy) || s.IsTerminal, cancellationToken);
        if (snapshot.IsTerminal)
        {
            throw new InvalidOperationException($"Resource '{name}' has entered the '{snapshot.State}' state{Because(snapshot)}.");
        }
    }

    private static string Because(ResourceSnapshot snapshot) => snapshot.Reason is null ? "" : $": {snapshot.Reason}";
}

/// <summary>Each resource's console output, the last lines kept (Aspire's ResourceLoggerService).</summary>
public sealed class ResourceLoggerService
{
    public const int MaxLinesPerResource = 10_000;

    private readonly ConcurrentDictionary<string, ConcurrentQueue<LogLine>> _logs = new();

    /// <summary>Raised for each line, as it is written.</summary>
    public event Action<string, LogLine>? LineWritten;

    public IReadOnlyList<LogLine> GetLines(string resourceName) =>
        _logs.TryGetValue(resourceName, out var lines) ? [.. lines] : [];

    public void Write(string resourceName, string text, bool isError)
    {
        var lines = _logs.GetOrAdd(resourceName, _ => new ConcurrentQueue<LogLine>());
        var line = new LogLine(DateTimeOffset.UtcNow, text, isError);
        lines.Enqueue(line);
        while (lines.Count > MaxLinesPerResource && lines.TryDequeue(out _))
        {
        }
        LineWritten?.Invoke(resourceName, line);
    }
}

public sealed record LogLine(DateTimeOffset Timestamp, string Text, bool IsError);
