using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Names a new conversation after its first reply: the model writes a short title in one small call, off the request
/// path and bounded by <c>Chat:AutoTitleTimeout</c>; with the offline responder, the message's first words (stored
/// with the reply, at no cost). A title never replaces a name other than NEW CHAT, so a rename stands.
/// </summary>
public sealed partial class ConversationTitler(
    IChatClient chatClient, ConversationQueries conversations, IOptions<ChatTurnOptions> options, IOptions<ModelOptions> model,
    IHostApplicationLifetime lifetime, ILogger<ConversationTitler> logger)
{
    private const int MaxWords = 6;
    private const string Instruction =
        "Write a title for the conversation that begins with the user's message below: at most six words, in the " +
        "message's language, with no quotes and no final punctuation. Answer with the title only.";

    /// <summary>Whether titles are the message's first words (no model to ask).</summary>
    public bool UsesFirstWords => model.Value.Connection.Provider == ModelProvider.Offline;

    /// <summary>The first words of <paramref name="message"/>, at most six and 60 characters.</summary>
    public static string FirstWords(string message) =>
        Fit(string.Join(' ', message.Split((char[]?)null, MaxWords + 1, StringSplitOptions.RemoveEmptyEntries).Take(MaxWords)));

    /// <summary>Asks the model for the title of a new conversation, in the background.</summary>
    public void Schedule(string conversationId, string message) =>
        _ = Task.Run(() => TitleAsync(conversationId, message), CancellationToken.None);

    private async Task TitleAsync(string conversationId, string message)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        timeout.CancelAfter(options.Value.AutoTitleTimeout);
        try
        {
            var response = await chatClient.GetResponseAsync(
                [new ChatMessage(ChatRole.System, Instruction), new ChatMessage(ChatRole.User, message)],
                new AiChatOptions { MaxOutputTokens = 24, Temperature = 0.2f }, timeout.Token);
            var title = Fit(response.Text.Trim().Trim('"', '\'', '“', '”', '«', '»').TrimEnd('.', '!', '?', '。'));
            if (title.Length == 0)
            {
                LogTitleFailed(conversationId, "an empty title");
                return;
            }
            using var cancellation = new DatabaseCancellation(timeout.Token);
            await conversations.SetAutoTitleAsync(conversationId, title, cancellation.Token);
        }
        catch (Exception exception)
        {
            LogTitleFailed(conversationId, exception.GetType().Name);
        }
    }

    // One line of at most 60 characters (the column's size), never cutting a surrogate pair.
    private static string Fit(string title)
    {
        title = string.Join(' ', title.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        var runes = title.EnumerateRunes().ToList();
        return runes.Count <= ConversationLimits.ChatNameMaxLength
            ? title
            : string.Concat(runes.Take(ConversationLimits.ChatNameMaxLength - 1).Select(rune => rune.ToString())) + "…";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The title of conversation {ConversationId} was not written ({Reason}); it stays NEW CHAT.")]
    private partial void LogTitleFailed(string conversationId, string reason);
}
