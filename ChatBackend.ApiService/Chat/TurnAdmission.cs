using ChatBackend.ApiService.Data;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Whether a send may start a turn: the user's rate limits (this instance's, <see cref="TurnLimits"/>) and daily token
/// quota (every instance's, counted in the database). A refused send stores nothing.
/// </summary>
public sealed class TurnAdmission(
    TurnLimits limits, UsageQueries usage, ReplyProgressStore progress, ApiKeys keys, IOptions<QuotaOptions> quota)
{
    /// <summary>
    /// The outcome that refuses the send, or none with the turn's concurrency permit (if a limit is set): the caller's
    /// to hand to the turn, or to dispose.
    /// </summary>
    public async Task<(TurnOutcome? Refusal, IDisposable? Permit)> AdmitAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        if (limits.TryAdmit(request.UserId, out var permit) is { } limited)
        {
            // A refusal tells of the user's sends: a key taken from memory is looked up first.
            return (await keys.StillValidAsync(request.KeyToCheck, cancellationToken) ? limited : new TurnOutcome.ApiKeyNotValid(), null);
        }
        try
        {
            if (await QuotaRefusalAsync(request, cancellationToken) is { } refused)
            {
                permit?.Dispose();
                return (refused, null);
            }
            return (null, permit);
        }
        catch
        {
            permit?.Dispose();
            throw;
        }
    }

    // Before the model is asked: a user whose replies used up today's tokens gets no new one. A retry of a turn that
    // was answered still gets its stored reply, which costs nothing. The reply that crosses the quota is finished.
    private async Task<TurnOutcome?> QuotaRefusalAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var limit = quota.Value.DailyTokensPerUser;
        if (limit == 0)
        {
            return null;
        }
        // The day's usage (and a retry's stored reply) is read before the turn begins: a key taken from memory first.
        if (!await keys.StillValidAsync(request.KeyToCheck, cancellationToken))
        {
            return new TurnOutcome.ApiKeyNotValid();
        }
        var today = await usage.GetTodayAsync(request.UserId, cancellationToken);
        if (today.Tokens < limit)
        {
            return null;
        }
        if (request is { ConversationId: { } conversationId, MessageId: { } messageId }
            && await progress.GetReplyStateAsync(conversationId, request.UserId, messageId, cancellationToken) is
                { Status: MessageStatus.Success } answered)
        {
            return TurnOutcome.Stored(answered);
        }
        return new QuotaUsedUp(today.Tokens, limit, today.UntilReset);
    }
}
