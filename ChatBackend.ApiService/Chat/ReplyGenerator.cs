using System.ClientModel;
using System.Diagnostics;
using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Model;
using ChatBackend.ApiService.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A turn's reply: the conversation so far as the prompt, the model's call (streamed piece by piece into the run, or
/// whole), and the turn's end stored as it came: answered, cancelled, stopped by the host, timed out or failed.
/// </summary>
public sealed partial class ReplyGenerator(
    TurnStore store,
    ConversationQueries conversations,
    IChatClient chatClient,
    McpServers mcpServers,
    McpCallRunner mcpRunner,
    IOptions<ToolOptions> toolOptions,
    PromptBuilder prompts,
    ConversationTitler titler,
    IOptions<ChatTurnOptions> options,
    ILogger<ReplyGenerator> logger)
{
    /// <summary>The turn span's time to the first streamed token (no semantic convention names one for a span).</summary>
    public const string TimeToFirstTokenTag = "chatbackend.time_to_first_token_ms";

    /// <summary>
    /// Generates the reply of a started turn and stores how it ended; the outcome, or a throw when the database failed.
    /// </summary>
    public async Task<TurnOutcome> GenerateAsync(TurnRun run, TurnRequest request, int messageTokens)
    {
        var message = request.Message;
        var settings = options.Value;
        var turn = run.Turn;
        var activity = run.Activity;
        var stopwatch = Stopwatch.StartNew();

        IReadOnlyList<ContextMessage> history = [];
        try
        {
            if (!turn.IsNewConversation)
            {
                // The run's token fires from its time limit's timer (DatabaseCancellation says why that matters).
                using var cancellation = new DatabaseCancellation(run.Token);
                history = await conversations.GetContextAsync(
                    turn.ConversationId, turn.MessageNo, settings.HistoryMaxMessages, cancellation.Token);
            }
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            return await EndEarlyAsync(run, stopwatch, providerFailure: null, promptTokens: 0);
        }
        catch (Exception exception)
        {
            // The database failed; the handler reports it. Mark the message if the database still listens.
            await TryFailAsync(turn, stopwatch, TurnError.Database, exception);
            throw;
        }

        var prompt = prompts.Build(history, message, messageTokens, out var promptTokens);
        if (request.Kind is { Role: not "user" } kind)
        {
            // The outputs of the previous reply's tool calls, not a user's words (approvals: none; their calls run below).
            prompt.RemoveAt(prompt.Count - 1);
            prompt.AddRange(ToolCall.MessagesOf(kind.Role, message, kind.ToolCalls));
        }
        var chatOptions = new AiChatOptions { MaxOutputTokens = settings.MaxOutputTokens, Temperature = settings.Temperature };
        if (request.Settings is { } asked)
        {
            // The instructions after the configured prompt; the earlier input items right before the message.
            if (asked.Instructions is { Length: > 0 } instructions)
            {
                prompt.Insert(1, new ChatMessage(ChatRole.System, instructions));
            }
            prompt.InsertRange(prompt.Count - 1, asked.Preceding ?? []);
            chatOptions.Tools = asked.Tools;
            chatOptions.ToolMode = asked.ToolMode;
            chatOptions.AllowMultipleToolCalls = asked.AllowMultipleToolCalls;
            if (asked.StrictJsonSchema)
            {
                // Microsoft.Extensions.AI.OpenAI's key for a strict JSON schema (its OpenAIClientExtensions.StrictKey).
                chatOptions.AdditionalProperties = new() { ["strict"] = true };
            }
            chatOptions.ModelId = asked.Model;
            chatOptions.MaxOutputTokens = Math.Min(asked.MaxOutputTokens ?? settings.MaxOutputTokens, settings.MaxOutputTokens);
            chatOptions.Temperature = asked.Temperature ?? settings.Temperature;
            chatOptions.TopP = asked.TopP;
            chatOptions.ResponseFormat = asked.ResponseFormat;
        }
        ToolCall.KeepAnsweredCalls(prompt);
        McpToolset? toolset = null;
        // The calls the server ran (with the lists of tools it offered), and the rounds of them so far.
        List<ToolCall> ran = [];
        var writes = new McpCallRunner.Writes();
        var rounds = 0;
        var maxRounds = toolOptions.Value.MaxRounds;
        if (request.Settings?.Mcp is { Count: > 0 } servers)
        {
            try
            {
                toolset = await mcpServers.OpenAsync(servers, run.Token);
                if (turn.Attempt > 0)
                {
                    // A turn taken over goes on from the calls its earlier attempts made: none runs twice.
                    var earlier = await mcpRunner.EarlierAsync(turn, run.Token);
                    foreach (var round in earlier.GroupBy(entry => entry.Round))
                    {
                        AddRound(prompt, "", [.. round.Select(entry => entry.Call)]);
                        ran.AddRange(round.Select(entry => entry.Call));
                        rounds++;
                    }
                }
            }
            catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
            {
                return await EndEarlyAsync(run, stopwatch, providerFailure: null, promptTokens);
            }
            catch (McpServerUnavailableException exception)
            {
                await FailAsync(turn, stopwatch, TurnError.ToolServer, exception);
                return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId, exception.Message);
            }
            ran.InsertRange(0, toolset.Servers.Select(McpCallRunner.Listed));
            foreach (var step in ToolEvent.Of(ran))
            {
                run.Add(step);
            }
            chatOptions.Tools = [.. chatOptions.Tools ?? [], .. toolset.Declarations];
            // The calls the user answered run first (those an earlier attempt ran are not run again); refused ones
            // reach the model as refused.
            var answered = ToolCall.Parse(request.Kind?.ToolCalls)
                .Where(entry => entry.Type == ToolCall.McpApprovalResponse && toolset.ServerOf(entry.Name!) is not null
                    && !ran.Any(done => done.Type == ToolCall.McpCall && done.CallId == entry.CallId)).ToList();
            if (answered.Count > 0)
            {
                try
                {
                    var results = await mcpRunner.RunAsync(
                        run, toolset, rounds, ran.Count, textOffset: 0, [.. answered.Select(entry => (FunctionCallContent)ToolCall.CallContent(entry))],
                        writes, run.Token, answered.Where(entry => entry.Approve != true).Select(entry => entry.CallId).ToHashSet(StringComparer.Ordinal));
                    ran.AddRange(results);
                    AddRound(prompt, "", results);
                    rounds++;
                }
                catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
                {
                    return await EndEarlyAsync(run, stopwatch, providerFailure: null, promptTokens);
                }
            }
        }
        await using var tools = toolset;
        var attempts = ProviderAttempts.Begin();
        int? timeToFirstTokenMs = null;
        ModelAnswer answer;
        var usage = new UsageDetails();
        while (true)
        {
            if (rounds >= maxRounds)
            {
                // The last call after Tools:MaxRounds rounds must answer.
                chatOptions.ToolMode = ChatToolMode.None;
            }
            try
            {
                answer = await AskModelAsync(run, prompt, chatOptions, stopwatch, firstToken => timeToFirstTokenMs ??= firstToken);
            }
            catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
            {
                return await EndEarlyAsync(run, stopwatch, attempts.FailureNotRetried, promptTokens);
            }
            catch (Exception exception)
            {
                await FailAsync(turn, stopwatch, TurnError.ProviderError, exception);
                // Its last failure, when one was recorded (a retry given up because its Retry-After outlasts the turn).
                return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId, attempts.FailureNotRetried is { } failure
                    ? $"The model provider failed to answer ({failure})."
                    : "The model provider failed to answer.");
            }
            usage.Add(answer.Response.Usage ?? new UsageDetails());
            var serverCalls = toolset is null || rounds >= maxRounds
                ? []
                : answer.Calls.Where(call => toolset.ServerOf(call.Name) is not null).ToList();
            if (serverCalls.Count == 0 || answer.Response.FinishReason is null)
            {
                break;
            }
            // Calls that need the user's approval end the turn asking for it; the round's others run first.
            var waiting = serverCalls.Where(call => toolset!.ServerOf(call.Name)!.Approval.Requires(call.Name)).ToList();
            List<ToolCall> results;
            try
            {
                results = await mcpRunner.RunAsync(run, toolset!, rounds, ran.Count, run.Length, [.. serverCalls.Except(waiting)], writes, run.Token);
            }
            catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
            {
                return await EndEarlyAsync(run, stopwatch, providerFailure: null, promptTokens);
            }
            ran.AddRange(results);
            if (waiting.Count > 0)
            {
                foreach (var call in waiting)
                {
                    var asking = McpCallRunner.ApprovalRequest(toolset!, call, run.Length);
                    ran.Add(asking);
                    run.Add(ToolEvent.Done(asking));
                }
                break;
            }
            AddRound(prompt, answer.Text, results);
            rounds++;
            // A call the client runs (a function tool) ends the turn; the server's of the same round ran first.
            if (answer.Calls.Count > serverCalls.Count)
            {
                break;
            }
        }
        var response = answer.Response;
        // The calls left to the client: those of the server's tools ran, wait for approval, or came past the last round.
        var calls = answer.Calls.Where(call => toolset?.ServerOf(call.Name) is null).Select(ToolCall.From).ToList();

        // The SDKs do not raise for a stream that ends without saying why: an answer cut short is not a success.
        if (response.FinishReason is null)
        {
            await FailAsync(turn, stopwatch, TurnError.NoFinishReason, exception: null);
            return new TurnOutcome.ModelFailed(
                turn.ConversationId, turn.MessageId, "The model provider ended the reply without finishing it.");
        }
        // A stream's stored reply is exactly what its followers were sent.
        var text = run.Text();
        // A reply may be only calls of the request's tools (the client runs them and sends their outputs), or calls
        // that wait for the user's approval.
        if (string.IsNullOrWhiteSpace(text) && calls.Count == 0 && !ran.Any(entry => entry.Type == ToolCall.McpApprovalRequest))
        {
            await FailAsync(turn, stopwatch, TurnError.EmptyReply, exception: null);
            return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId, "The model provider returned an empty reply.");
        }

        var reply = new ReplyRecord(
            MessageId: Ids.NewReplyId(),
            Text: text,
            TokenCount: prompts.Count(text),
            ElapsedMs: (int)stopwatch.ElapsedMilliseconds,
            Model: response.ModelId,
            InputTokens: (int?)usage.InputTokenCount,
            OutputTokens: (int?)usage.OutputTokenCount,
            FinishReason: response.FinishReason.Value.Value,
            TimeToFirstTokenMs: timeToFirstTokenMs,
            ToolCalls: ToolCall.Serialize([.. ran, .. calls]));
        // The turn's span says what the dashboard shows of a chat: model, tokens, and how long the first token took.
        activity?.SetTag("gen_ai.response.model", reply.Model);
        activity?.SetTag("gen_ai.usage.input_tokens", reply.InputTokens);
        activity?.SetTag("gen_ai.usage.output_tokens", reply.OutputTokens);
        activity?.SetTag(TimeToFirstTokenTag, reply.TimeToFirstTokenMs);
        // The calls' end records first: the turn's end is stored after them.
        await writes.AllAsync();
        var titled = turn.IsNewConversation && settings.AutoTitle;
        // What the provider counted, or this tokenizer's count where it said nothing (the offline model).
        var tokensUsed = (long)(reply.InputTokens ?? promptTokens) + (reply.OutputTokens ?? reply.TokenCount);
        // Stored even while the host stops (no token): the model's work is done and the client will look for it.
        var completed = await store.CompleteTurnAsync(
            turn, reply, MessageStatus.Success, reply.ElapsedMs, error: null, tokensUsed, CancellationToken.None,
            title: titled && titler.UsesFirstWords ? ConversationTitler.FirstWords(message) : null);
        if (!completed.Stored)
        {
            return NotStored(turn, completed);
        }
        if (titled && !titler.UsesFirstWords)
        {
            titler.Schedule(turn.ConversationId, message);
        }
        LogTurnAnswered(turn.ConversationId, turn.MessageNo, reply.Model, reply.InputTokens, reply.OutputTokens, reply.ElapsedMs);
        return new TurnOutcome.Answered(new AnsweredTurn(turn.ConversationId, turn.MessageId, reply, completed.MessageCount));
    }

    /// <summary>One model call's answer: the response (finish, model, usage), the text of this call, the calls it made.</summary>
    private sealed record ModelAnswer(ChatResponse Response, string Text, IReadOnlyList<FunctionCallContent> Calls);

    // One call of the model, streamed into the run or whole. Only what the stored reply needs is kept of each update
    // (its text is the run's): thousands of streams at once would otherwise hold every update with its raw provider
    // JSON until their end.
    private async Task<ModelAnswer> AskModelAsync(
        TurnRun run, List<ChatMessage> prompt, AiChatOptions chatOptions, Stopwatch stopwatch, Action<int> firstToken)
    {
        if (!run.Streaming)
        {
            var whole = await chatClient.GetResponseAsync(prompt, chatOptions, run.Token);
            // The run's text is the reply's either way: a tool round's events come after the text before them.
            if (whole.Text is { Length: > 0 } said)
            {
                run.Append(said);
            }
            return new ModelAnswer(whole, whole.Text, [.. whole.Messages.SelectMany(reply => reply.Contents).OfType<FunctionCallContent>()]);
        }
        ChatFinishReason? finishReason = null;
        string? modelId = null;
        UsageDetails? usage = null;
        List<FunctionCallContent> calls = [];
        var start = run.Length;
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
                else if (content is FunctionCallContent call)
                {
                    calls.Add(call);
                }
            }
            if (update.Text is { Length: > 0 } piece)
            {
                firstToken((int)stopwatch.ElapsedMilliseconds);
                run.Append(piece);
            }
        }
        return new ModelAnswer(
            new ChatResponse { FinishReason = finishReason, ModelId = modelId, Usage = usage }, run.Text()[start..], calls);
    }

    // A tool round as the next model call sees it: the model's words and calls, then the calls' results.
    private static void AddRound(List<ChatMessage> prompt, string text, IReadOnlyList<ToolCall> results)
    {
        prompt.Add(new ChatMessage(ChatRole.Assistant,
            [.. text.Length > 0 ? [new TextContent(text)] : Array.Empty<AIContent>(), .. results.Select(ToolCall.CallContent)]));
        prompt.Add(new ChatMessage(ChatRole.Tool, [.. results.Select(ToolCall.ResultContent)]));
    }

    // The turn's token fired: an explicit cancel, the host stopping, or the turn's time limit. A time limit that
    // ended the retries of a failing provider is the provider's failure; one that cut a call short is a timeout.
    // What was generated counts towards the user's day with the prompt that was sent.
    private async Task<TurnOutcome> EndEarlyAsync(
        TurnRun run, Stopwatch stopwatch, string? providerFailure, int promptTokens)
    {
        var turn = run.Turn;
        var elapsedMs = (int)stopwatch.ElapsedMilliseconds;
        // What was generated, with the server's tool work until then (as the run's streams showed it).
        var (partialReply, toolEvents) = run.Snapshot();
        var toolCalls = ToolCall.Serialize(ToolEvent.EntriesOf(toolEvents));
        var partial = partialReply.Length == 0 && toolCalls is null ? null : new ReplyRecord(
            Ids.NewReplyId(), partialReply, prompts.Count(partialReply), elapsedMs, null, null, null, null, null, toolCalls);
        var tokensUsed = promptTokens + (partial?.TokenCount ?? 0);
        if (run.CancelRequested)
        {
            LogTurnCancelled(turn.ConversationId, turn.MessageNo, partialReply.Length, elapsedMs);
            var cancelled = await store.CompleteTurnAsync(
                turn, partial, MessageStatus.Cancelled, elapsedMs, TurnError.Cancelled, tokensUsed, CancellationToken.None);
            return cancelled.Stored ? new TurnOutcome.Cancelled(turn.ConversationId, turn.MessageId, partialReply, toolCalls) : NotStored(turn, cancelled);
        }
        if (run.Stopping)
        {
            // Kept as Error with what was generated: a retry with the same message_id replaces it with a whole reply.
            LogTurnStopped(turn.ConversationId, turn.MessageNo, partialReply.Length, elapsedMs);
            var stopped = await store.CompleteTurnAsync(
                turn, partial, MessageStatus.Error, elapsedMs, TurnError.ServerStopping, tokensUsed, CancellationToken.None);
            return stopped.Stored ? new TurnOutcome.ServerStopping(turn.ConversationId, turn.MessageId) : NotStored(turn, stopped);
        }
        if (providerFailure is not null)
        {
            await FailAsync(turn, stopwatch, TurnError.ProviderError, exception: null);
            return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId,
                $"The model provider kept failing ({providerFailure}) until the turn's time ran out.");
        }
        await FailAsync(turn, stopwatch, TurnError.Timeout, exception: null);
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

    private async Task FailAsync(StartedTurn turn, Stopwatch stopwatch, TurnError error, Exception? exception)
    {
        var elapsedMs = (int)stopwatch.ElapsedMilliseconds;
        // The exception's type and the provider's status say enough; its message may quote the provider's answer.
        LogTurnFailed(turn.ConversationId, turn.MessageNo, error.Code(), exception?.GetType().Name,
            (exception as ClientResultException)?.Status, elapsedMs);
        // Recorded even while the host stops: the client's retry depends on seeing Error rather than Pending.
        await store.FailTurnAsync(turn, elapsedMs, error, CancellationToken.None);
    }

    private async Task TryFailAsync(StartedTurn turn, Stopwatch stopwatch, TurnError error, Exception exception)
    {
        try
        {
            await FailAsync(turn, stopwatch, error, exception);
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
