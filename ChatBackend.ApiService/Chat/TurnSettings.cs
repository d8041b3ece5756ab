using System.Text.Json;
using ChatBackend.ApiService.Tools;
using Microsoft.Extensions.AI;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// What a request of /v1/responses asks of its model call beyond the message: a model of <c>Chat:Models</c>, its
/// instructions (a system message after the configured prompt), sampling, a cap on the output (never above
/// <c>Chat:MaxOutputTokens</c>), a response format, the input items sent before the message in this turn, and the
/// function tools the model may call (their calls end the turn; the client runs them), and the MCP servers whose tools
/// the server runs during the turn (<see cref="Mcp"/>).
/// </summary>
public sealed record TurnSettings(
    string? Model = null,
    string? Instructions = null,
    float? Temperature = null,
    float? TopP = null,
    int? MaxOutputTokens = null,
    ChatResponseFormat? ResponseFormat = null,
    IReadOnlyList<ChatMessage>? Preceding = null,
    IList<AITool>? Tools = null,
    ChatToolMode? ToolMode = null,
    bool? AllowMultipleToolCalls = null,
    bool StrictJsonSchema = false,
    IReadOnlyList<McpToolChoice>? Mcp = null)
{
    /// <summary>What a native send asked (its model, its servers' labels) as its message's row keeps it (V16); null for nothing.</summary>
    public string? ToStored() => Model is null && Mcp is null
        ? null
        : JsonSerializer.Serialize(new StoredSend(Model, Mcp?.Select(server => server.Label).ToList()));

    /// <summary>A native send's settings read back from its message's row, for the instance that takes its turn over.</summary>
    public static TurnSettings? FromStored(string? stored) => stored is null || JsonSerializer.Deserialize<StoredSend>(stored) is not { } send
        ? null
        : new TurnSettings(Model: send.Model, Mcp: send.Tools?.Select(label => new McpToolChoice(label)).ToList());

    private sealed record StoredSend(string? Model, List<string>? Tools);

    /// <summary>The messages this turn adds to the prompt besides its own (their tokens count towards its size).</summary>
    public IEnumerable<ChatMessage> ExtraMessages()
    {
        if (Instructions is { Length: > 0 } instructions)
        {
            yield return new ChatMessage(ChatRole.System, instructions);
        }
        foreach (var message in Preceding ?? [])
        {
            yield return message;
        }
    }
}
