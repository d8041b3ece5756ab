using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatBackend.ApiService.Apis;

// The wire shapes of /v1/responses and /v1/models as OpenAI documents them (snake_case; the response object carries
// every field its SDKs read, null where this server has nothing to say).

/// <summary>
/// What a response's request asked, kept with it (on its user message's row, V18; in the <c>response</c> table for a
/// response made before) and echoed by every read of it: its settings and its input items.
/// </summary>
public sealed record ResponseRequestRecord(
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("instructions")] string? Instructions,
    [property: JsonPropertyName("previous_response_id")] string? PreviousResponseId,
    [property: JsonPropertyName("conversation")] string? Conversation,
    [property: JsonPropertyName("store")] bool Store,
    [property: JsonPropertyName("background")] bool Background,
    [property: JsonPropertyName("max_output_tokens")] int? MaxOutputTokens,
    [property: JsonPropertyName("temperature")] float Temperature,
    [property: JsonPropertyName("top_p")] float TopP,
    [property: JsonPropertyName("metadata")] Dictionary<string, string> Metadata,
    [property: JsonPropertyName("tool_choice")] JsonElement? ToolChoice,
    [property: JsonPropertyName("parallel_tool_calls")] bool ParallelToolCalls,
    [property: JsonPropertyName("text")] JsonElement? Text,
    [property: JsonPropertyName("tools")] JsonElement? Tools,
    [property: JsonPropertyName("input")] IReadOnlyList<InputMessageItem> Input);

/// <summary>A message of a response's input, as input_items lists it.</summary>
public sealed record InputMessageItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] IReadOnlyList<InputTextContent> Content)
{
    [JsonPropertyName("type")]
    public string Type => "message";

    [JsonPropertyName("status")]
    public string Status => "completed";
}

public sealed record InputTextContent([property: JsonPropertyName("text")] string Text)
{
    [JsonPropertyName("type")]
    public string Type => "input_text";
}

/// <summary>The response object.</summary>
public sealed record ResponseObject(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("background")] bool Background,
    [property: JsonPropertyName("error")] ResponseErrorObject? Error,
    [property: JsonPropertyName("incomplete_details")] IncompleteDetails? IncompleteDetails,
    [property: JsonPropertyName("instructions")] string? Instructions,
    [property: JsonPropertyName("max_output_tokens")] int? MaxOutputTokens,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("output")] IReadOnlyList<object> Output,
    [property: JsonPropertyName("parallel_tool_calls")] bool ParallelToolCalls,
    [property: JsonPropertyName("previous_response_id")] string? PreviousResponseId,
    [property: JsonPropertyName("conversation")] ConversationReference? Conversation,
    [property: JsonPropertyName("store")] bool Store,
    [property: JsonPropertyName("temperature")] float Temperature,
    [property: JsonPropertyName("text")] JsonElement? Text,
    [property: JsonPropertyName("tool_choice")] JsonElement? ToolChoice,
    [property: JsonPropertyName("top_p")] float TopP,
    [property: JsonPropertyName("usage")] ResponseUsage? Usage,
    [property: JsonPropertyName("metadata")] Dictionary<string, string> Metadata,
    [property: JsonPropertyName("tools")] JsonElement Tools)
{
    [JsonPropertyName("object")]
    public string Object => "response";

    [JsonPropertyName("truncation")]
    public string Truncation => "disabled";

    [JsonPropertyName("service_tier")]
    public string ServiceTier => "default";

    [JsonPropertyName("reasoning")]
    public ReasoningSettings Reasoning => ReasoningSettings.None;

    [JsonPropertyName("user")]
    public string? User => null;
}

public sealed record ReasoningSettings(
    [property: JsonPropertyName("effort")] string? Effort, [property: JsonPropertyName("summary")] string? Summary)
{
    public static readonly ReasoningSettings None = new(null, null);
}

public sealed record ConversationReference([property: JsonPropertyName("id")] string Id);

public sealed record ResponseErrorObject([property: JsonPropertyName("code")] string Code, [property: JsonPropertyName("message")] string Message);

public sealed record IncompleteDetails([property: JsonPropertyName("reason")] string Reason);

/// <summary>An assistant message of a response's output.</summary>
public sealed record OutputMessageItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("content")] IReadOnlyList<OutputTextContent> Content)
{
    [JsonPropertyName("type")]
    public string Type => "message";

    [JsonPropertyName("role")]
    public string Role => "assistant";
}

/// <summary>A function call of a response's output: the client runs it and sends a function_call_output.</summary>
public sealed record FunctionCallItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("call_id")] string CallId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments,
    [property: JsonPropertyName("status")] string Status)
{
    [JsonPropertyName("type")]
    public string Type => "function_call";
}

/// <summary>The tools an MCP server offered the model (mcp_list_tools).</summary>
public sealed record McpListToolsItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("server_label")] string ServerLabel,
    [property: JsonPropertyName("tools")] JsonElement Tools)
{
    [JsonPropertyName("type")]
    public string Type => "mcp_list_tools";
}

/// <summary>A call the server ran on an MCP server (mcp_call): its output, or its error.</summary>
public sealed record McpCallItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("server_label")] string ServerLabel,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments,
    [property: JsonPropertyName("output")] string? Output,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("status")] string Status)
{
    [JsonPropertyName("type")]
    public string Type => "mcp_call";
}

/// <summary>A call that waits for the user's approval (mcp_approval_request); an mcp_approval_response answers it.</summary>
public sealed record McpApprovalRequestItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("server_label")] string ServerLabel,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments)
{
    [JsonPropertyName("type")]
    public string Type => "mcp_approval_request";
}

public sealed record OutputTextContent([property: JsonPropertyName("text")] string Text)
{
    [JsonPropertyName("type")]
    public string Type => "output_text";

    [JsonPropertyName("annotations")]
    public IReadOnlyList<object> Annotations => [];

    [JsonPropertyName("logprobs")]
    public IReadOnlyList<object> Logprobs => [];
}

public sealed record ResponseUsage(
    [property: JsonPropertyName("input_tokens")] int InputTokens,
    [property: JsonPropertyName("output_tokens")] int OutputTokens)
{
    [JsonPropertyName("total_tokens")]
    public int TotalTokens => InputTokens + OutputTokens;

    [JsonPropertyName("input_tokens_details")]
    public object InputTokensDetails => new { cached_tokens = 0 };

    [JsonPropertyName("output_tokens_details")]
    public object OutputTokensDetails => new { reasoning_tokens = 0 };
}

/// <summary>A page of a list (input items): OpenAI's list object.</summary>
public sealed record ListObject<T>(
    [property: JsonPropertyName("data")] IReadOnlyList<T> Data,
    [property: JsonPropertyName("first_id")] string? FirstId,
    [property: JsonPropertyName("last_id")] string? LastId,
    [property: JsonPropertyName("has_more")] bool HasMore)
{
    [JsonPropertyName("object")]
    public string Object => "list";
}

public sealed record DeletedObject([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("object")] string Object)
{
    [JsonPropertyName("deleted")]
    public bool Deleted => true;
}

public sealed record ModelObject([property: JsonPropertyName("id")] string Id)
{
    [JsonPropertyName("object")]
    public string Object => "model";

    [JsonPropertyName("created")]
    public long Created => 0;

    [JsonPropertyName("owned_by")]
    public string OwnedBy => "chatbackend";
}

/// <summary>OpenAI's error shape, which its SDKs parse: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record OpenAIErrorBody([property: JsonPropertyName("error")] OpenAIError Error);

public sealed record OpenAIError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

/// <summary>A conversation of /v1/conversations.</summary>
public sealed record ConversationObject(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("metadata")] Dictionary<string, string> Metadata)
{
    [JsonPropertyName("object")]
    public string Object => "conversation";
}

/// <summary>A message of a conversation as an item: the user's as input_text, the assistant's as output_text.</summary>
public sealed record ConversationItemObject(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] IReadOnlyList<ItemText> Content)
{
    [JsonPropertyName("type")]
    public string Type => "message";
}

public sealed record ItemText([property: JsonPropertyName("type")] string Type, [property: JsonPropertyName("text")] string Text);
