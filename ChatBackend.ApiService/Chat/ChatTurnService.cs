using System.Diagnostics;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Model;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// One chat turn: store the message, ask the model with the conversation so far, store the reply. The generation
/// (<see cref="ReplyGenerator"/>) runs apart from the request that started it (<see cref="RunningTurns"/>): a client
/// that goes away loses nothing, the reply is stored and found in the history. Only the turn's own time limit, an
/// explicit cancel or the host stopping end it early.
/// </summary>
public sealed class ChatTurnService(
    TurnStore store,
    ReplyProgressStore progress,
    TurnAdmission admission,
    ReplyGenerator generator,
    PromptBuilder prompts,
    RunningTurns runningTurns,
    ApiKeys keys,
    IOptions<ChatTurnOptions> options)
{
    public static readonly ActivitySource ActivitySource = new(typeof(ChatTurnService).Assembly.GetName().Name!);

    /// <summary>The turn span's response id, for a response of /v1/responses (the GenAI semantic conventions' name).</summary>
    public const string ResponseIdTag = "gen_ai.response.id";

    /// <summary>Sends a message and waits for its reply.</summary>
    public async Task<TurnOutcome> SendAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var outcome = await BeginAsync(request, streaming: false, cancellationToken);
        // Not the request's token: the turn ends on its own terms, and this request waits for it.
        return outcome is TurnStarted(var run) ? await run.Completion : outcome;
    }

    /// <summary>
    /// Stores the message and, unless the message_id was seen before, starts generating its reply: the outcome is
    /// then <see cref="TurnStarted"/>, whose run streams the reply's pieces when <paramref name="streaming"/>. A
    /// message too long for the context budget, or one the user's rate limits or daily quota refuse, stores nothing.
    /// </summary>
    public async Task<TurnOutcome> BeginAsync(TurnRequest request, bool streaming, CancellationToken cancellationToken)
    {
        // A conversation id that no conversation can have (ids are ASCII) is not looked for, nor counted as a send.
        if (request.ConversationId is { } named && !Ids.IsConversationId(named))
        {
            return new TurnOutcome.ConversationNotFound();
        }
        // The instructions and earlier input items of a response are part of what this turn sends, not of its message
        // as later turns replay it.
        var messageTokens = prompts.Count(request.Message);
        var tokens = messageTokens + (request.Settings?.ExtraMessages().Sum(extra => prompts.Count(extra.Text)) ?? 0);
        if (!prompts.Fits(tokens))
        {
            return new MessageTooLong(tokens, prompts.SystemPromptTokens, prompts.Budget);
        }
        var (refusal, permit) = await admission.AdmitAsync(request, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }
        // The span and the permit are the run's once it exists; until then, this method's.
        var activity = ActivitySource.StartActivity("chat turn");
        TurnRun? run = null;
        try
        {
            var settings = options.Value;
            var begun = await store.BeginTurnAsync(
                request.UserId, request.ConversationId, request.MessageId ?? Ids.NewMessageId(), request.Message, messageTokens,
                settings.AbandonedAfter, request.Idempotency(), request.Response, cancellationToken, request.Kind,
                request.Follows, request.Response is null ? request.Settings?.ToStored() : null, request.KeyToCheck, request.RetakeOnly);
            if (begun is not TurnOutcome.Begun(var turn))
            {
                if (begun is TurnOutcome.ApiKeyNotValid)
                {
                    // The key's next request is looked up, and refused before it counts against its user's limits.
                    keys.Forget(request.KeyToCheck!.Value);
                }
                return begun;
            }
            activity?.SetTag(ConversationIdEnricher.TagName, turn.ConversationId);
            if (request.Response is not null)
            {
                activity?.SetTag(ResponseIdTag, turn.MessageId);
            }
            run = new TurnRun(turn, streaming, settings.Timeout, permit, activity);
            runningTurns.Start(run, started => generator.GenerateAsync(started, request, tokens));
            return new TurnStarted(run);
        }
        finally
        {
            if (run is null)
            {
                permit?.Dispose();
                activity?.Dispose();
            }
        }
    }

    /// <summary>
    /// Stops a running turn of the user's; what was generated is stored as Cancelled. A turn of another instance is
    /// flagged in the database, which that instance sees with its next progress write; this waits for its end.
    /// </summary>
    public async Task<CancelOutcome> CancelAsync(
        long userId, string conversationId, string messageId, CancellationToken cancellationToken)
    {
        if (runningTurns.Find(conversationId, messageId) is { } run && run.UserId == userId)
        {
            run.Cancel();
            return new CancelOutcome.Stopped(await run.Completion.WaitAsync(cancellationToken));
        }
        var state = await progress.GetReplyStateAsync(conversationId, userId, messageId, cancellationToken);
        var settings = options.Value;
        if (state is null)
        {
            return new CancelOutcome.NotFound();
        }
        if (state.Status != MessageStatus.Pending || !settings.ProgressEnabled)
        {
            return new CancelOutcome.NotRunning(state.Status);
        }

        await progress.RequestCancelAsync(new ProgressKey(conversationId, state.MessageNo, state.Attempt), cancellationToken);
        // Its instance sees the flag within an interval, then stores the end; a silent one never will.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < settings.ProgressInterval * 4 + TimeSpan.FromSeconds(2))
        {
            await Task.Delay(settings.ProgressInterval / 2, cancellationToken);
            state = await progress.GetReplyStateAsync(conversationId, userId, messageId, cancellationToken);
            if (state is null)
            {
                return new CancelOutcome.NotFound();
            }
            if (state.Status != MessageStatus.Pending)
            {
                return new CancelOutcome.Stopped(TurnOutcome.Stored(state));
            }
        }
        return new CancelOutcome.NotRunning(MessageStatus.Pending);
    }

    /// <summary>Stops the replies this instance generates for a conversation that was deleted.</summary>
    public void StopConversation(string conversationId)
    {
        foreach (var run in runningTurns.Runs.Where(run => run.Turn.ConversationId == conversationId))
        {
            run.Cancel();
        }
    }
}
