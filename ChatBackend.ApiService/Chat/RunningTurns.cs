using System.Collections.Concurrent;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// The turns running in this process, found by conversation and message id for a cancel, and awaited when the host
/// stops so that each one stores its end (its reply, or Error) before the process exits.
/// </summary>
public sealed class RunningTurns : IHostedService
{
    private readonly ConcurrentDictionary<(string ConversationId, string MessageId), TurnRun> _runs = new();

    public void Add(TurnRun run) => _runs[(run.Turn.ConversationId, run.Turn.MessageId)] = run;

    public void Remove(TurnRun run) => _runs.TryRemove(new((run.Turn.ConversationId, run.Turn.MessageId), run));

    public TurnRun? Find(string conversationId, string messageId) => _runs.GetValueOrDefault((conversationId, messageId));

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // The host has signalled ApplicationStopping already, which ends every generation; what is left is storing.
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_runs.Values.Select(run => run.Completion)).WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // A turn whose database write failed; its request has reported that already.
        }
    }
}
