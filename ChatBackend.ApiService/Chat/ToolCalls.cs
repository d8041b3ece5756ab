using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// A function call of a reply, or the output a client gave for one, as the <c>tool_calls</c> column keeps them (JSON):
/// a reply's calls are <c>{call_id, name, arguments}</c>, a tool message's outputs <c>{call_id, output}</c>. A call
/// the server ran itself has a <see cref="Type"/>: <c>mcp_call</c> (with its server, and its output or error);
/// <c>mcp_list_tools</c> is the list of a server's tools the model was offered;
/// <c>mcp_approval_request</c> a call that waits for the user's approval, which a later turn's message (role tool)
/// answers with an <c>mcp_approval_response</c>: the request's call with <see cref="Approve"/>, so that the turn (or an
/// instance that takes it over) has all it needs to run it. An entry of the server's has a <see cref="TextOffset"/>:
/// how much of the reply's text came before it (a stream sends it at that point; a UI shows it there).
/// </summary>
public sealed record ToolCall(
    [property: JsonPropertyName("call_id")] string CallId,
    [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null,
    [property: JsonPropertyName("arguments"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments = null,
    [property: JsonPropertyName("output"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Output = null,
    [property: JsonPropertyName("type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type = null,
    [property: JsonPropertyName("server_label"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ServerLabel = null,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null,
    [property: JsonPropertyName("tools"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Tools = null,
    [property: JsonPropertyName("approve"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Approve = null,
    [property: JsonPropertyName("text_offset"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? TextOffset = null)
{
    public const string McpCall = "mcp_call";
    public const string McpListTools = "mcp_list_tools";
    public const string McpApprovalRequest = "mcp_approval_request";
    public const string McpApprovalResponse = "mcp_approval_response";

    /// <summary>What the model is told of a call the user refused.</summary>
    public const string Refused = "The user refused to approve this call; it was not run.";

    /// <summary>A call of a function tool: the client runs it (not one the server ran, nor a list of tools).</summary>
    [JsonIgnore]
    public bool IsFunctionCall => Type is null;

    /// <summary>The answer to an approval request: the call it asked for, approved or not.</summary>
    public ToolCall Answered(bool approve) => this with { Type = McpApprovalResponse, Approve = approve };

    /// <summary>A tool message's entry as its text: an output, or an answer to an approval request.</summary>
    public static string TextOf(ToolCall entry) => entry.Type == McpApprovalResponse
        ? $"{(entry.Approve == true ? "Approved" : "Refused")}: {entry.CallId}"
        : entry.Output ?? "";

    public static string? Serialize(IReadOnlyCollection<ToolCall> calls) => calls.Count == 0 ? null : JsonSerializer.Serialize(calls);

    public static IReadOnlyList<ToolCall> Parse(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize<List<ToolCall>>(json) ?? [];

    /// <summary>A call the model made, with its arguments as the JSON text it sent.</summary>
    public static ToolCall From(FunctionCallContent call) =>
        new(call.CallId, call.Name, JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>()));

    /// <summary>
    /// Keeps a prompt's calls and outputs only where a provider takes them: an assistant's calls answered by the tool
    /// message right after it, with the same call ids. Calls that were never answered (a user wrote instead, the turn
    /// that answered them failed or was deleted, the budget cut between them) leave their message's text; outputs
    /// whose calls are not right before them become the user's words.
    /// </summary>
    public static void KeepAnsweredCalls(List<ChatMessage> prompt)
    {
        for (var i = 0; i < prompt.Count; i++)
        {
            var message = prompt[i];
            if (message.Role == ChatRole.Assistant && message.Contents.OfType<FunctionCallContent>().Any())
            {
                var calls = message.Contents.OfType<FunctionCallContent>().Select(call => call.CallId).ToHashSet(StringComparer.Ordinal);
                if (i + 1 < prompt.Count && prompt[i + 1].Role == ChatRole.Tool
                    && calls.SetEquals(prompt[i + 1].Contents.OfType<FunctionResultContent>().Select(result => result.CallId)))
                {
                    i++;
                    continue;
                }
                if (message.Text.Length > 0)
                {
                    prompt[i] = new ChatMessage(ChatRole.Assistant, message.Text);
                }
                else
                {
                    prompt.RemoveAt(i--);
                }
            }
            else if (message.Role == ChatRole.Tool)
            {
                prompt[i] = new ChatMessage(ChatRole.User,
                    string.Join("\n", message.Contents.OfType<FunctionResultContent>().Select(result => result.Result?.ToString())));
            }
        }
    }

    /// <summary>
    /// A stored message as the model sees it, in order: a reply's calls the server ran with their results, then its
    /// text with the calls it left to the client (assistant); outputs of calls (tool); a user's words.
    /// </summary>
    public static IEnumerable<ChatMessage> MessagesOf(string role, string text, string? toolCalls)
    {
        var calls = Parse(toolCalls);
        if (role == "assistant")
        {
            var ran = calls.Where(call => call.Type == McpCall).ToList();
            if (ran.Count > 0)
            {
                yield return new ChatMessage(ChatRole.Assistant, [.. ran.Select(CallContent)]);
                yield return new ChatMessage(ChatRole.Tool, [.. ran.Select(ResultContent)]);
            }
            // Calls waiting for approval are the answering turn's to give the model, with their results.
            var left = calls.Where(call => call.IsFunctionCall).ToList();
            if (left.Count > 0)
            {
                yield return new ChatMessage(ChatRole.Assistant, [.. text.Length > 0 ? [new TextContent(text)] : Array.Empty<AIContent>(), .. left.Select(CallContent)]);
            }
            else if (text.Length > 0 || calls.Count == 0)
            {
                yield return new ChatMessage(ChatRole.Assistant, text);
            }
            yield break;
        }
        if (role == "tool" && calls.Any(call => call.Type == McpApprovalResponse))
        {
            // Approvals: their calls and results are the reply's (mcp_call entries).
            yield break;
        }
        yield return role == "tool"
            ? new ChatMessage(ChatRole.Tool, [.. calls.Select(call => (AIContent)new FunctionResultContent(call.CallId, call.Output))])
            : new ChatMessage(ChatRole.User, text);
    }

    /// <summary>The call as the model made it.</summary>
    public static AIContent CallContent(ToolCall call) => new FunctionCallContent(
        call.CallId, call.Name!, JsonSerializer.Deserialize<Dictionary<string, object?>>(call.Arguments ?? "{}"));

    /// <summary>What the model is given back for a call the server ran: its output, or its error.</summary>
    public static AIContent ResultContent(ToolCall call) => new FunctionResultContent(call.CallId, call.Output ?? $"Error: {call.Error}");
}
