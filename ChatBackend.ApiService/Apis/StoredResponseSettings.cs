using System.Text.Json;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Tools;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A response's settings as its request gave them (the JSON on its message's row, V18), for the instance that takes its
/// turn over: the same model, instructions, sampling, format, tools and earlier input items as the first attempt had.
/// </summary>
public sealed class StoredResponseSettings(ResponseQueries responses, IOptions<ToolOptions> toolOptions) : IStoredTurnSettings
{
    public async Task<StoredTurn?> FindAsync(long userId, string conversationId, string messageId, CancellationToken cancellationToken)
    {
        // A native message's id may look like a response's, even like one of another conversation of the user's.
        if (!ResponseQueries.IsResponseId(messageId) || await responses.FindAsync(messageId, userId, cancellationToken) is not { } row
            || row.ConversationId != conversationId)
        {
            return null;
        }
        var request = ResponseHead.From(row).Request;
        // Read as the request was: it was valid then, so nothing here reports an error.
        static void Ignore(string param, string message)
        {
        }
        var asked = JsonSerializer.SerializeToElement(new { tools = request.Tools });
        var tools = ResponseCreateInput.ReadTools(asked, Ignore);
        var servers = McpToolInput.Read(asked, toolOptions.Value, Ignore);
        var (_, toolMode) = ResponseCreateInput.ReadToolChoice(
            JsonSerializer.SerializeToElement(new { tool_choice = request.ToolChoice }), [.. tools.Select(tool => tool.Name)], Ignore);
        var (_, format) = ResponseCreateInput.TextFormat(JsonSerializer.SerializeToElement(new { text = request.Text }), Ignore);
        return new StoredTurn(new TurnSettings(
            request.Model, request.Instructions, request.Temperature, request.TopP, request.MaxOutputTokens, format,
            ResponseCreateInput.PrecedingOf([.. request.Input.Select(item => (item.Role, string.Join("\n", item.Content.Select(part => part.Text))))]),
            tools.Count > 0 ? tools : null, toolMode, request.ParallelToolCalls, ResponseCreateInput.StrictJsonSchema(request.Text),
            servers.Count > 0 ? servers : null), Temporary: !request.Store);
    }
}
