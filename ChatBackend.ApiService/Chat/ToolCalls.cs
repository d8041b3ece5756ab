using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A function call of a reply, or the output a client gave for one, as the <c>tool_calls</c> column keeps them (JSON):
/// a reply's calls are <c>{call_id, name, arguments}</c>, a tool message's outputs <c>{call_id, output}</c>.
/// </summary>
public sealed record ToolCall(
    [property: JsonPropertyName("call_id")] string CallId,
    [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null,
    [property: JsonPropertyName("arguments"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments = null,
    [property: JsonPropertyName("output"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Output = null)
{
    public static string? Serialize(IReadOnlyCollection<ToolCall> calls) => calls.Count == 0 ? null : JsonSerializer.Serialize(calls);

    public static IReadOnlyList<ToolCall> Parse(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize<List<ToolCall>>(json) ?? [];

    /// <summary>A call the model made, with its arguments as the JSON text it sent.</summary>
    public static ToolCall From(FunctionCallContent call) =>
        new(call.CallId, call.Name, JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>()));

    /// <summary>A stored message as the model sees it: text, calls it made (assistant), outputs of calls (tool).</summary>
    public static ChatMessage MessageOf(string role, string text, string? toolCalls)
    {
        var calls = Parse(toolCalls);
        return role switch
        {
            "tool" => new ChatMessage(ChatRole.Tool, [.. calls.Select(call => (AIContent)new FunctionResultContent(call.CallId, call.Output))]),
            "assistant" when calls.Count > 0 => new ChatMessage(ChatRole.Assistant,
            [
                .. text.Length > 0 ? [new TextContent(text)] : Array.Empty<AIContent>(),
                .. calls.Select(call => (AIContent)new FunctionCallContent(call.CallId, call.Name!,
                    JsonSerializer.Deserialize<Dictionary<string, object?>>(call.Arguments ?? "{}"))),
            ]),
            "assistant" => new ChatMessage(ChatRole.Assistant, text),
            _ => new ChatMessage(ChatRole.User, text),
        };
    }
}
