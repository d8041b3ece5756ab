namespace ChatBackend.ApiService.Chat;

/// <summary>
/// This instance's turns as one hosted service, so that the order of shutdown is written here and not in the order of
/// two registrations: at start, the progress writer runs and the running turns watch for the host stopping; at
/// shutdown, the running turns finish (or are stopped) first while their progress is still written, then the writer
/// stops.
/// </summary>
public sealed class TurnsLifetime(RunningTurns turns, ProgressWriter progress) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        turns.WatchShutdown();
        return progress.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await turns.DrainAsync(cancellationToken);
        await progress.StopAsync(cancellationToken);
    }
}
