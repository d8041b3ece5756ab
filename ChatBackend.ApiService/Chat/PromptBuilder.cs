using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// What the model sees of a conversation: the system prompt, then the earlier turns as chat messages with their
/// roles, oldest first, then the new message; the oldest turns are dropped to fit <c>Chat:HistoryTokenBudget</c>.
/// Tokens are counted with the model's own encoding (o200k_base or cl100k_base; o200k_base for models that are not
/// OpenAI's, whose count is then an estimate).
/// </summary>
public sealed class PromptBuilder
{
    /// <summary>Tokens a message costs beyond its text: its role and the separators around it.</summary>
    public const int MessageOverhead = 4;

    private const string FallbackEncoding = "o200k_base";

    // Context windows of the model families, by name prefix (a more specific prefix first); others are assumed small.
    private static readonly (string Prefix, int Window)[] ContextWindows =
    [
        ("gpt-3.5-turbo", 16_385),
        ("gpt-4-turbo", 128_000),
        ("gpt-4o", 128_000),
        ("gpt-4.1", 128_000),
        ("gpt-4.5", 128_000),
        ("gpt-5", 128_000),
        ("gpt-4", 8_192),
        ("o1", 128_000),
        ("o3", 128_000),
        ("o4", 128_000),
    ];

    private const int UnknownModelWindow = 8_192;

    private readonly Tokenizer _tokenizer;
    private readonly string _systemPrompt;

    public PromptBuilder(IOptions<ModelOptions> model, IOptions<ChatTurnOptions> chat)
    {
        var modelName = model.Value.Connection.Model;
        _tokenizer = TokenizerFor(modelName);
        _systemPrompt = chat.Value.SystemPrompt;
        Budget = chat.Value.HistoryTokenBudget ?? DefaultBudget(modelName, chat.Value.MaxOutputTokens);
        SystemPromptTokens = Count(_systemPrompt);
    }

    /// <summary>The most tokens one request's messages may take.</summary>
    public int Budget { get; }

    public int SystemPromptTokens { get; }

    /// <summary>The tokens <paramref name="text"/> costs as one message.</summary>
    public int Count(string text) => _tokenizer.CountTokens(text) + MessageOverhead;

    /// <summary>Whether a message of <paramref name="tokens"/> fits with the system prompt alone.</summary>
    public bool Fits(int tokens) => SystemPromptTokens + tokens <= Budget;

    /// <summary>
    /// The messages for the model: as many of the latest whole turns as fit beside the system prompt and the new
    /// message. <paramref name="newestFirst"/> holds answered turns only, a reply directly after the message it answers.
    /// <paramref name="tokens"/> is what the prompt costs by this tokenizer's count.
    /// </summary>
    public List<ChatMessage> Build(IReadOnlyList<ContextMessage> newestFirst, string message, int messageTokens, out int tokens)
    {
        var remaining = Budget - SystemPromptTokens - messageTokens;
        var turns = new List<ChatMessage>();
        ContextMessage? reply = null;
        foreach (var earlier in newestFirst)
        {
            if (earlier.Role == "assistant")
            {
                reply = earlier;
                continue;
            }
            // A turn is a message with the reply that follows it; neither is sent without the other.
            if (reply is null || reply.MessageNo != earlier.MessageNo + 1)
            {
                reply = null;
                continue;
            }
            var cost = Tokens(earlier) + Tokens(reply);
            if (cost > remaining)
            {
                break;
            }
            remaining -= cost;
            // Newest first here, reversed below.
            turns.AddRange(ToolCall.MessagesOf(reply.Role, reply.Message, reply.ToolCalls).Reverse());
            turns.AddRange(ToolCall.MessagesOf(earlier.Role, earlier.Message, earlier.ToolCalls).Reverse());
            reply = null;
        }

        tokens = Budget - remaining;
        turns.Reverse();
        var prompt = new List<ChatMessage>(turns.Count + 2) { new(ChatRole.System, _systemPrompt) };
        prompt.AddRange(turns);
        prompt.Add(new ChatMessage(ChatRole.User, message));
        return prompt;
    }

    // Rows stored before token counts were kept are counted once here.
    private int Tokens(ContextMessage message) => message.TokenCount ?? Count(message.Message);

    private static int DefaultBudget(string model, int maxOutputTokens)
    {
        var window = ContextWindows.FirstOrDefault(entry => model.StartsWith(entry.Prefix, StringComparison.OrdinalIgnoreCase)).Window;
        return Math.Max((window == 0 ? UnknownModelWindow : window) - maxOutputTokens, 1_024);
    }

    private static TiktokenTokenizer TokenizerFor(string model)
    {
        try
        {
            return TiktokenTokenizer.CreateForModel(model);
        }
        catch (Exception exception) when (exception is NotSupportedException or ArgumentException)
        {
            return TiktokenTokenizer.CreateForEncoding(FallbackEncoding);
        }
    }
}
