using System.Diagnostics;
using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;

namespace ChatBackend.ApiService.Chat;

public abstract record TurnOutcome
{
    public sealed record Answered(ChatMessageResponse Response) : TurnOutcome;
    public sealed record ConversationNotFound : TurnOutcome;
    public sealed record StillInProgress(string ConversationId, string MessageId) : TurnOutcome;
    public sealed record MessageIdReused(string ConversationId, string MessageId) : TurnOutcome;
    public sealed record ModelFailed(string ConversationId, string MessageId, string Reason) : TurnOutcome;
    public sealed record ModelTimedOut(string ConversationId, string MessageId) : TurnOutcome;
    public sealed record ServerStopping(string ConversationId, string MessageId) : TurnOutcome;
}

/// <summary>One chat turn: store the message, ask the model with the conversation so far, store the reply.</summary>
public sealed partial class ChatTurnService(
    ConversationStore store,
    IChatClient chatClient,
    IOptions<ChatOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ChatTurnService> logger)
{
    public static readonly ActivitySource ActivitySource = new(typeof(ChatTurnService).Assembly.GetName().Name!);

    public async Task<TurnOutcome> SendAsync(ChatMessageRequest request, CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity("chat turn");
        var settings = options.Value;
        var messageId = request.MessageId ?? Ids.NewMessageId();

        var begun = await store.BeginTurnAsync(
            request.UserId, request.ConversationId, messageId, request.Message, settings.AbandonedAfter, cancellationToken);

        switch (begun)
        {
            case BeginTurnResult.AlreadyAnswered(var answered):
                return new TurnOutcome.Answered(new ChatMessageResponse(
                    answered.Reply, answered.ConversationId, answered.MessageId, answered.ReplyMessageId,
                    answered.MessageCount, answered.ElapsedMs, Model: null));
            case BeginTurnResult.ConversationNotFound:
                return new TurnOutcome.ConversationNotFound();
            case BeginTurnResult.StillInProgress:
                return new TurnOutcome.StillInProgress(request.ConversationId!, messageId);
            case BeginTurnResult.MessageIdReused:
                return new TurnOutcome.MessageIdReused(request.ConversationId!, messageId);
        }

        var turn = ((BeginTurnResult.Started)begun).Turn;
        activity?.SetTag("gen_ai.conversation.id", turn.ConversationId);

        // The message is stored; from here the turn runs to its end even if the client goes away, so that its reply
        // is stored too and the client finds it in the history. Only the host shutting down cuts it short.
        var turnToken = lifetime.ApplicationStopping;
        IReadOnlyList<StoredMessage> context = turn.IsNewConversation
            ? []
            : await store.GetContextAsync(turn.ConversationId, turn.MessageNo, settings.HistoryMaxMessages, turnToken);

        var prompt = new List<ChatMessage>(context.Count + 2) { new(ChatRole.System, settings.SystemPrompt) };
        prompt.AddRange(context.Select(message => new ChatMessage(
            message.Role == "assistant" ? ChatRole.Assistant : ChatRole.User, message.Message)));
        prompt.Add(new ChatMessage(ChatRole.User, request.Message));

        var stopwatch = Stopwatch.StartNew();
        ChatResponse response;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(turnToken))
        {
            timeout.CancelAfter(settings.Timeout);
            try
            {
                response = await chatClient.GetResponseAsync(
                    prompt,
                    new AiChatOptions { MaxOutputTokens = settings.MaxOutputTokens, Temperature = settings.Temperature },
                    timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !turnToken.IsCancellationRequested)
            {
                await FailAsync(turn, stopwatch, "timeout");
                return new TurnOutcome.ModelTimedOut(turn.ConversationId, turn.MessageId);
            }
            catch (OperationCanceledException) when (turnToken.IsCancellationRequested)
            {
                await FailAsync(turn, stopwatch, "server stopping");
                return new TurnOutcome.ServerStopping(turn.ConversationId, turn.MessageId);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                await FailAsync(turn, stopwatch, exception.GetType().Name);
                return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId, "The model provider failed to answer.");
            }
        }

        var elapsedMs = (int)stopwatch.ElapsedMilliseconds;
        var reply = response.Text;
        if (string.IsNullOrWhiteSpace(reply))
        {
            await FailAsync(turn, stopwatch, "empty reply");
            return new TurnOutcome.ModelFailed(turn.ConversationId, turn.MessageId, "The model provider returned an empty reply.");
        }

        var replyId = Ids.NewReplyId();
        var messageCount = await store.CompleteTurnAsync(turn, replyId, reply, elapsedMs, turnToken);
        return new TurnOutcome.Answered(new ChatMessageResponse(
            reply, turn.ConversationId, turn.MessageId, replyId, messageCount, elapsedMs, response.ModelId));
    }

    private async Task FailAsync(StartedTurn turn, Stopwatch stopwatch, string reason)
    {
        var elapsedMs = (int)stopwatch.ElapsedMilliseconds;
        LogTurnFailed(turn.ConversationId, turn.MessageNo, reason, elapsedMs);
        Activity.Current?.SetStatus(ActivityStatusCode.Error, reason);
        // Recorded even while the host stops: the client's retry depends on seeing Error rather than Pending.
        await store.FailTurnAsync(turn, elapsedMs, CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The model call of conversation {ConversationId}, message {MessageNo} failed ({Reason}) after {ElapsedMs} ms.")]
    private partial void LogTurnFailed(string conversationId, int messageNo, string reason, int elapsedMs);
}
