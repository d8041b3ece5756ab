using System.Collections.Concurrent;

namespace Aspire.Hosting.Dashboard;

/// <summary>When each resource last started: the resources page's Start time.</summary>
internal sealed class ResourceTimes : IDisposable
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _started = new();
    private readonly ResourceNotificationService _notifications;

    public ResourceTimes(ResourceNotificationService notifications)
    {
        _notifications = notifications;
        _notifications.Changed += Record;
    }

    public DateTimeOffset? StartOf(string name) => _started.TryGetValue(name, out var time) ? time : null;

    public void Dispose() => _notifications.Changed -= Record;

    private void Record(IResource resource, ResourceSnapshot snapshot)
    {
        if (snapshot.State is KnownResourceStates.Starting or KnownResourceStates.Active)
        {
            _started[resource.Name] = DateTimeOffset.UtcNow;
        }
    }
}
