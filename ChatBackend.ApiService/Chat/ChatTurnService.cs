using System.ClientModel;
using System.Diagnostics;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// One chat turn: store the message, ask the model with the conversation so far, store the reply. The generation
/// runs apart from the request that started it: a client that goes away loses nothing, the reply is stored and
/// found in the history. Only the turn's own time limit, an explicit cancel or the host stopping end it early.
/// </summary>
public sealed partial class ChatTurnService(
    TurnStore store,
    ReplyProgressStore progress,
    IChatClient chatClient,
    PromptBuilder prompts,
    ConversationTitler titler,
    RunningTurns runningTurns,
    TurnLimits limits,
    UsageQueries usage,
    IOptions<QuotaOptions> quota,
    IOptions<ChatTurnOptions> options,
    ILogger<ChatTurnService> logger)
{
    public static readonly ActivitySource ActivitySource = new(typeof(ChatTurnService).Assembly.GetName().Name!);

    /// <summary>The turn span's time to the first streamed token (no semantic convention names one for a span).</summary>
    public const string TimeToFirstTokenTag = "chatbackend.time_to_first_token_ms";

    /// <summary>Sends a message and waits for its reply.</summary>
    public async Task<TurnOutcome> SendAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var outcome = await BeginAsync(request, streaming: false, cancellationToken);
        // Not the request's token: the turn ends on its own terms, and this request waits for it.
        return outcome is TurnOutcome.Started(var run) ? await run.Completion : outcome;
    }

    /// <summary>
    /// Stores the message and, unless the message_id was seen before, starts generating its reply: the outcome is
    /// then <see cref="TurnOutcome.Started"/>, whose run streams the reply's pieces when <paramref name="streaming"/>.
    /// The user's rate limits and daily quota are checked first; a refused send stores nothing.
    /// </summary>
    public async Task<TurnOutcome> BeginAsync(TurnRequest request, bool streaming, CancellationToken cancellationToken)
    {
        if (limits.TryAdmit(request.UserId, out var permit) is { } limited)
        {
            return limited;
        }
        var activity = ActivitySource.StartActivity("chat turn");
        try
        {
            if (await QuotaRefusalAsync(request, cancellationToken) is { } refused)
            {
                permit?.Dispose();
                activity?.Dispose();
                return refused;
            }
            var settings = options.Value;
            var messageId = request.MessageId ?? Ids.NewMessageId();
            var begun = await store.BeginTurnAsync(
                request.UserId, request.ConversationId, messageId, request.Message, request.TokenCount,
                settings.AbandonedAfter, request.Idempotency(), cancellationToken);

            if (begun is not BeginTurnResult.Started(var turn))
            {
                permit?.Dispose();
                activity?.Dispose();
                return begun switch
                {
                    BeginTurnResult.AlreadyAnswered(var answered) => new TurnOutcome.Answered(answered),
                    BeginTurnResult.StillInProgress(var conversationId, var runningId) =>
                        new TurnOutcome.StillInProgress(conversationId, runningId),
                    BeginTurnResult.MessageIdReused(var conversationId, var reusedId) =>
                        new TurnOutcome.MessageIdReused(conversationId, reusedId),
                    BeginTurnResult.IdempotencyKeyReused => new TurnOutcome.IdempotencyKeyReused(),
                    _ => new TurnOutcome.ConversationNotFound(),
                };
            }

            activity?.SetTag(ConversationIdEnricher.TagName, turn.ConversationId);
            var run = new TurnRun(turn, request.UserId, streaming, settings.Timeout, permit);
            permit = null;
            runningTurns.Add(run);
            // Task.Run carries this turn's span as the current activity; the request's own flow is left as it was.
            _ = Task.Run(() => run.RunAsync(() => RunAsync(run, request, activity)), CancellationToken.None);
            return new TurnOutcome.Started(run);
        }
        catch
        {
            permit?.Dispose();
            activity?.Dispose();
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
        var today = await usage.GetTodayAsync(request.UserId, cancellationToken);
        if (today.Tokens < limit)
        {
            return null;
        }
        if (request is { ConversationId: { } conversationId, MessageId: { } messageId }
            && await progress.GetReplyStateAsync(conversationId, request.UserId, messageId, cancellationToken) is
                { Status: MessageStatus.Success } answered)
        {
            return ReplyStates.Outcome(answered);
        }
        return new TurnOutcome.QuotaUsedUp(today.Tokens, limit, today.UntilReset);
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
                return new CancelOutcome.Stopped(ReplyStates.Outcome(state));
            }
        }
        return new CancelOutcome.NotRunning(MessageStatus.Pending);
    }

    private async Task<TurnOutcome> RunAsync(TurnRun run, TurnRequest request, Activity? activity)
    {
        using (activity)
        {
            try
            {
                var outcome = await GenerateAndStoreAsync(run, request, activity);
                if (outcome is not TurnOutcome.Answered)
                {
                    activity?.SetStatus(ActivityStatusCode.Error, outcome.GetType().Name);
                }
                return outcome;
            }
            catch (Exception exception)
            {
                activity?.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
                throw;
            }
            finally
            {
                run.EndText();
                runningTurns.Remove(run);
                run.Dispose();
            }
        }
    }

    private async Task<TurnOutcome> GenerateAndStoreAsync(TurnRun run, TurnRequest request, Activity? activity)
    {
        var settings = options.Value;
        var turn = run.Turn;
        var stopwatch = Stopwatch.StartNew();

        IReadOnlyList<ContextMessage> history;
        try
        {
            history = turn.IsNewConversation
                ? []
                : await store.GetContextAsync(turn.ConversationId, turn.MessageNo, settings.HistoryMaxMessages, run.Token);
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            return await EndEarlyAsync(run, stopwatch, partialReply: "", providerFailure: null, promptTokens: 0);
        }
        catch (Exception exception)
        {
            // The database failed; the handler reports it. Mark the message if the database still listens.
            await TryFailAsync(turn, stopwatch, "database", exception);
            throw;
        }

        var prompt = prompts.Build(history, request.Message, request.TokenCount, out var promptTokens);
        var chatOptions = new AiChatOptions { MaxOutputTokens = settings.MaxOutputTokens, Temperature = settings.Temperature };
        var attempts = ProviderAttempts.Begin();
        int? timeToFirstTokenMs = null;
        ChatResponse response;
        try
        {
            if (run.Streaming)
            {
                // Only what the stored reply needs is kept of each update (its text is the run's): thousands of
                // streams at once would otherwise hold every update with its raw provider JSON until their end.
                ChatFinishReason? finishReason = null;
                string? modelId = null;
                UsageDetails? usage = null;
                await foreach (var update in chatClient.GetStreamingResponseAsync(prompt, chatOptions, run.Token))
                {
                    // A stream whose pieces keep coming may be read on from buffers without the token being looked at.
                    run.Token.ThrowIfCancellationRequested();
                    finishReason = update.FinishReason ?? finishReason;
                    modelId ??= update.ModelId;
                    foreach (var content in update.Contents)
                    {
                        if (content is UsageContent counted)
                        {
                            (usage ??= new UsageDetails()).Add(counted.Details);
                        }
                    }
                    if (update.Text is { Length: > 0 } piece)
                    {
                        timeToFirstTokenMs ??= (int)stopwatch.ElapsedMilliseconds;
                        run.Append(piece);
                    }
                }
                response = new ChatResponse { FinishReason = finishReason, ModelId = modelId, Usage = usage };
            }
            else
            {
                response = await chatClient.GetResponseAsync(prompt, chatOptions, run.Token);
            }
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            return await EndEarlyAsync(run, stopwatch, run.Text(), attempts.FailureNotRetried, promptTokens);
        }
        catch (Exception exception)
        {
            await FailAsync(turn, stopwatch, "provider_error", exception);
            // Its last failure, when one was recorded (a retry given up because its Retry-After outlasts the turn).
            return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId, attempts.FailureNotRetried is { } failure
                ? $"The model provider failed to answer ({failure})."
                : "The model provider failed to answer.");
        }

        // The SDKs do not raise for a stream that ends without saying why: an answer cut short is not a success.
        if (response.FinishReason is null)
        {
            await FailAsync(turn, stopwatch, "no_finish_reason", exception: null);
            return new TurnOutcome.ModelFailed(
                turn.ConversationId, turn.MessageId, "The model provider ended the reply without finishing it.");
        }
        // A stream's stored reply is exactly what its followers were sent.
        var text = run.Streaming ? run.Text() : response.Text;
        if (string.IsNullOrWhiteSpace(text))
        {
            await FailAsync(turn, stopwatch, "empty_reply", exception: null);
            return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId, "The model provider returned an empty reply.");
        }

        var reply = new ReplyRecord(
            MessageId: Ids.NewReplyId(),
            Text: text,
            TokenCount: prompts.Count(text),
            ElapsedMs: (int)stopwatch.ElapsedMilliseconds,
            Model: response.ModelId,
            InputTokens: (int?)response.Usage?.InputTokenCount,
            OutputTokens: (int?)response.Usage?.OutputTokenCount,
            FinishReason: response.FinishReason.Value.Value,
            TimeToFirstTokenMs: timeToFirstTokenMs);
        // The turn's span says what the dashboard shows of a chat: model, tokens, and how long the first token took.
        activity?.SetTag("gen_ai.response.model", reply.Model);
        activity?.SetTag("gen_ai.usage.input_tokens", reply.InputTokens);
        activity?.SetTag("gen_ai.usage.output_tokens", reply.OutputTokens);
        activity?.SetTag(TimeToFirstTokenTag, reply.TimeToFirstTokenMs);
        // Stored even while the host stops: the model's work is done and the client will look for it.
        var titled = turn.IsNewConversation && settings.AutoTitle;
        // What the provider counted, or this tokenizer's count where it said nothing (the offline model).
        var tokensUsed = (long)(reply.InputTokens ?? promptTokens) + (reply.OutputTokens ?? reply.TokenCount);
        var completed = await store.CompleteTurnAsync(
            turn, reply, MessageStatus.Success, reply.ElapsedMs, errorCode: null, tokensUsed, CancellationToken.None,
            title: titled && titler.UsesFirstWords ? ConversationTitler.FirstWords(request.Message) : null);
        if (!completed.Stored)
        {
            return NotStored(turn, completed);
        }
        if (titled && !titler.UsesFirstWords)
        {
            titler.Schedule(turn.ConversationId, request.Message);
        }
        LogTurnAnswered(turn.ConversationId, turn.MessageNo, reply.Model, reply.InputTokens, reply.OutputTokens, reply.ElapsedMs);
        return new TurnOutcome.Answered(new AnsweredTurn(turn.ConversationId, turn.MessageId, reply, completed.MessageCount));
    }

    // The turn's token fired: an explicit cancel, the host stopping, or the turn's time limit. A time limit that
    // ended the retries of a failing provider is the provider's failure; one that cut a call short is a timeout.
    // What was generated counts towards the user's day with the prompt that was sent.
    private async Task<TurnOutcome> EndEarlyAsync(
        TurnRun run, Stopwatch stopwatch, string partialReply, string? providerFailure, int promptTokens)
    {
        var turn = run.Turn;
        var elapsedMs = (int)stopwatch.ElapsedMilliseconds;
        var partial = partialReply.Length == 0 ? null : new ReplyRecord(
            Ids.NewReplyId(), partialReply, prompts.Count(partialReply), elapsedMs, null, null, null, null, null);
        var tokensUsed = promptTokens + (partial?.TokenCount ?? 0);
        if (run.CancelRequested)
        {
            LogTurnCancelled(turn.ConversationId, turn.MessageNo, partialReply.Length, elapsedMs);
            var cancelled = await store.CompleteTurnAsync(
                turn, partial, MessageStatus.Cancelled, elapsedMs, "cancelled", tokensUsed, CancellationToken.None);
            return cancelled.Stored ? new TurnOutcome.Cancelled(turn.ConversationId, turn.MessageId, partialReply) : NotStored(turn, cancelled);
        }
        if (run.Stopping)
        {
            // Kept as Error with what was generated: a retry with the same message_id replaces it with a whole reply.
            LogTurnStopped(turn.ConversationId, turn.MessageNo, partialReply.Length, elapsedMs);
            var stopped = await store.CompleteTurnAsync(
                turn, partial, MessageStatus.Error, elapsedMs, "server_stopping", tokensUsed, CancellationToken.None);
            return stopped.Stored ? new TurnOutcome.ServerStopping(turn.ConversationId, turn.MessageId) : NotStored(turn, stopped);
        }
        if (providerFailure is not null)
        {
            await FailAsync(turn, stopwatch, "provider_error", exception: null);
            return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId,
                $"The model provider kept failing ({providerFailure}) until the turn's time ran out.");
        }
        await FailAsync(turn, stopwatch, "timeout", exception: null);
        return new TurnOutcome.ModelTimedOut(turn.ConversationId, turn.MessageId);
    }

    // The conversation was deleted meanwhile, or another instance counted this turn as abandoned and took it over
    // (its attempt stores the end, not this one).
    private TurnOutcome NotStored(StartedTurn turn, CompletedTurn completed)
    {
        if (completed.Gone)
        {
            return new TurnOutcome.ConversationNotFound();
        }
        LogTurnTakenOver(turn.ConversationId, turn.MessageNo, turn.Attempt);
        return new TurnOutcome.TakenOver(turn.ConversationId, turn.MessageId);
    }

    /// <summary>Stops the replies this instance generates for a conversation that was deleted.</summary>
    public void StopConversation(string conversationId)
    {
        foreach (var run in runningTurns.Runs.Where(run => run.Turn.ConversationId == conversationId))
        {
            run.Cancel();
        }
    }

    private async Task FailAsync(StartedTurn turn, Stopwatch stopwatch, string errorCode, Exception? exception)
    {
        var elapsedMs = (int)stopwatch.ElapsedMilliseconds;
        // The exception's type and the provider's status say enough; its message may quote the provider's answer.
        LogTurnFailed(turn.ConversationId, turn.MessageNo, errorCode, exception?.GetType().Name,
            (exception as ClientResultException)?.Status, elapsedMs);
        // Recorded even while the host stops: the client's retry depends on seeing Error rather than Pending.
        await store.FailTurnAsync(turn, elapsedMs, errorCode, CancellationToken.None);
    }

    private async Task TryFailAsync(StartedTurn turn, Stopwatch stopwatch, string errorCode, Exception exception)
    {
        try
        {
            await FailAsync(turn, stopwatch, errorCode, exception);
        }
        catch (Exception)
        {
            // Still Pending, then: a retry takes the turn over once it counts as abandoned.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The turn of conversation {ConversationId}, message {MessageNo} failed ({ErrorCode}; {ExceptionType} {ProviderStatus}) after {ElapsedMs} ms.")]
    private partial void LogTurnFailed(
        string conversationId, int messageNo, string errorCode, string? exceptionType, int? providerStatus, int elapsedMs);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "The turn of conversation {ConversationId}, message {MessageNo} was answered by {Model} ({InputTokens} tokens in, {OutputTokens} out) in {ElapsedMs} ms.")]
    private partial void LogTurnAnswered(string conversationId, int messageNo, string? model, int? inputTokens, int? outputTokens, int elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The turn of conversation {ConversationId}, message {MessageNo} (attempt {Attempt}) was taken over by another instance; its end is not stored.")]
    private partial void LogTurnTakenOver(string conversationId, int messageNo, int attempt);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The turn of conversation {ConversationId}, message {MessageNo} was stopped by the server's shutdown after {Characters} characters and {ElapsedMs} ms.")]
    private partial void LogTurnStopped(string conversationId, int messageNo, int characters, int elapsedMs);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "The turn of conversation {ConversationId}, message {MessageNo} was cancelled after {Characters} characters and {ElapsedMs} ms.")]
    private partial void LogTurnCancelled(string conversationId, int messageNo, int characters, int elapsedMs);
}
