using System.Text.Json;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Tools;
using Microsoft.Extensions.AI;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// The body of <c>POST /v1/responses</c>, read and checked: each error names its <c>param</c> as OpenAI's do. Fields
/// this server does not know are ignored; a known one it does not support (a tool, an item type) is an error.
/// </summary>
public sealed class ResponseCreateInput
{
    /// <summary>OpenAI's bound on metadata: 16 pairs, keys of 64 characters, values of 512.</summary>
    private const int MaxMetadataPairs = 16;

    public required string Model { get; init; }

    /// <summary>The turn's own message: the text of the input's last user message.</summary>
    public required string Message { get; init; }

    /// <summary>The input's messages before the last user one (system and developer ones as system messages).</summary>
    public required IReadOnlyList<ChatMessage> Preceding { get; init; }

    public required IReadOnlyList<(string Role, string Text)> InputMessages { get; init; }

    /// <summary>The outputs of the previous reply's function calls, when they are this turn's message (JSON of the calls).</summary>
    public string? ToolOutputs { get; init; }

    public IList<AITool>? Tools { get; init; }

    /// <summary>The MCP servers whose tools the server runs for this response.</summary>
    public IReadOnlyList<McpToolChoice>? Servers { get; init; }

    /// <summary>The tools as the request gave them, echoed by the response.</summary>
    public JsonElement? ToolsJson { get; init; }
    public ChatToolMode? ToolMode { get; init; }

    public string? Instructions { get; init; }
    public string? PreviousResponseId { get; init; }
    public string? Conversation { get; init; }
    public bool Store { get; init; } = true;
    public bool Stream { get; init; }
    public bool Background { get; init; }
    public int? MaxOutputTokens { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public Dictionary<string, string> Metadata { get; init; } = [];
    public JsonElement? ToolChoice { get; init; }
    public bool ParallelToolCalls { get; init; } = true;
    public JsonElement? Text { get; init; }
    public ChatResponseFormat? ResponseFormat { get; init; }

    public static bool TryRead(
        JsonElement body, ModelCatalog models, int maxMessageLength, ToolOptions toolOptions, out ResponseCreateInput? input,
        out Dictionary<string, string[]> errors)
    {
        errors = [];
        input = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["The body must be a JSON object."];
            return false;
        }
        var found = errors;
        void Error(string param, string message) => found.TryAdd(param, [message]);

        var model = String(body, "model", Error);
        if (model is not null && !models.Allows(model))
        {
            Error("model", $"The model '{model}' is not offered here; GET /v1/models lists those that are.");
        }
        var outputs = new List<ToolCall>();
        var messages = Input(body, maxMessageLength, outputs, Error);
        var lastUser = messages.FindLastIndex(message => message.Role == "user");
        if (outputs.Count > 0 && messages.Count > 0)
        {
            Error("input", "function_call_output and mcp_approval_response items come alone: the turn that answers a call has no other message.");
        }
        else if (outputs.Count == 0 && messages.Count > 0 && lastUser < 0)
        {
            Error("input", "The input needs a user message.");
        }
        var previous = String(body, "previous_response_id", Error);
        var conversation = ConversationId(body, Error);
        if (previous is not null && conversation is not null)
        {
            Error("conversation", "previous_response_id and conversation cannot be used together.");
        }
        var store = Bool(body, "store", Error) ?? true;
        var background = Bool(body, "background", Error) ?? false;
        if (background && !store)
        {
            Error("background", "A background response must be stored (store: true).");
        }
        var maxOutputTokens = Number(body, "max_output_tokens", 16, int.MaxValue, Error);
        var temperature = Number(body, "temperature", 0, 2, Error);
        var topP = Number(body, "top_p", 0, 1, Error);
        var metadata = ReadMetadata(body, Error);
        var tools = ReadTools(body, Error);
        var servers = McpToolInput.Read(body, toolOptions, Error);
        var (toolChoice, toolMode) = ReadToolChoice(body, [.. tools.Select(tool => tool.Name)], Error);
        var parallel = Bool(body, "parallel_tool_calls", Error) ?? true;
        var (text, format) = TextFormat(body, Error);
        var instructions = String(body, "instructions", Error);
        var stream = Bool(body, "stream", Error) ?? false;

        if (errors.Count > 0)
        {
            return false;
        }
        input = new ResponseCreateInput
        {
            Model = model ?? models.Models[0],
            Message = outputs.Count > 0 ? string.Join("\n", outputs.Select(ToolCall.TextOf)) : messages[lastUser].Text,
            ToolOutputs = outputs.Count > 0 ? ToolCall.Serialize(outputs) : null,
            Tools = tools.Count > 0 ? tools : null,
            Servers = servers.Count > 0 ? servers : null,
            ToolsJson = Field(body, "tools")?.Clone(),
            ToolMode = toolMode,
            Preceding = PrecedingOf(messages),
            InputMessages = messages,
            Instructions = instructions,
            PreviousResponseId = previous,
            Conversation = conversation,
            Store = store,
            Stream = stream,
            Background = background,
            MaxOutputTokens = (int?)maxOutputTokens,
            Temperature = (float?)temperature,
            TopP = (float?)topP,
            Metadata = metadata,
            ToolChoice = toolChoice,
            ParallelToolCalls = parallel,
            Text = text,
            ResponseFormat = format,
        };
        return true;
    }

    /// <summary>The input's messages before its last user message, as the model gets them (system and developer as system).</summary>
    internal static List<ChatMessage> PrecedingOf(IReadOnlyList<(string Role, string Text)> messages)
    {
        var lastUser = messages.ToList().FindLastIndex(message => message.Role == "user");
        return [.. messages.Take(Math.Max(lastUser, 0)).Select(message => new ChatMessage(
            message.Role is "assistant" ? ChatRole.Assistant : message.Role is "user" ? ChatRole.User : ChatRole.System, message.Text))];
    }

    /// <summary>The settings the turn's model call takes from this request.</summary>
    public TurnSettings Settings() => new(
        Model, Instructions, Temperature, TopP, MaxOutputTokens, ResponseFormat, Preceding, Tools, ToolMode, ParallelToolCalls,
        StrictJsonSchema(Text), Servers);

    /// <summary>Whether text.format asks for a strict JSON schema.</summary>
    internal static bool StrictJsonSchema(JsonElement? text) =>
        text is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty("format", out var format)
        && format.ValueKind == JsonValueKind.Object && format.TryGetProperty("strict", out var strict) && strict.ValueKind == JsonValueKind.True;

    private static JsonElement? Field(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? String(JsonElement body, string name, Action<string, string> error)
    {
        switch (Field(body, name))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.String } value:
                return value.GetString();
            default:
                error(name, $"{name} must be a string.");
                return null;
        }
    }

    private static bool? Bool(JsonElement body, string name, Action<string, string> error)
    {
        switch (Field(body, name))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.True or JsonValueKind.False } value:
                return value.GetBoolean();
            default:
                error(name, $"{name} must be true or false.");
                return null;
        }
    }

    private static double? Number(JsonElement body, string name, double min, double max, Action<string, string> error)
    {
        switch (Field(body, name))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.Number } value when value.GetDouble() is var number && number >= min && number <= max:
                return number;
            default:
                error(name, $"{name} must be a number from {min} to {max}.");
                return null;
        }
    }

    private static string? ConversationId(JsonElement body, Action<string, string> error)
    {
        switch (Field(body, "conversation"))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.String } id:
                return id.GetString();
            case { ValueKind: JsonValueKind.Object } reference when reference.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String:
                return id.GetString();
            default:
                error("conversation", "conversation must be a conversation id or {\"id\": ...}.");
                return null;
        }
    }

    // A string is one user message; an array holds message items, each with a string or input_text parts.
    private static List<(string Role, string Text)> Input(JsonElement body, int maxLength, List<ToolCall> outputs, Action<string, string> error)
    {
        List<(string Role, string Text)> messages = [];
        switch (Field(body, "input"))
        {
            case null:
                error("input", "input is required: a string, or a list of message items.");
                break;
            case { ValueKind: JsonValueKind.String } text:
                messages.Add(("user", text.GetString()!));
                break;
            case { ValueKind: JsonValueKind.Array } items:
                var index = 0;
                foreach (var item in items.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type", out var approvalType)
                        && approvalType.ValueKind == JsonValueKind.String && approvalType.GetString() == ToolCall.McpApprovalResponse)
                    {
                        if (String(item, "approval_request_id", error) is { Length: > 0 } requestId && Bool(item, "approve", error) is { } approve)
                        {
                            outputs.Add(new ToolCall(ResponseHead.ApprovalCallId(requestId), Type: ToolCall.McpApprovalResponse, Approve: approve));
                        }
                        else
                        {
                            error($"input[{index}]", "An mcp_approval_response item needs its approval_request_id and approve.");
                        }
                    }
                    else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                        && type.GetString() == "function_call_output")
                    {
                        if (String(item, "call_id", error) is { Length: > 0 } callId && Field(item, "output") is { } output)
                        {
                            outputs.Add(new ToolCall(callId, Output: output.ValueKind == JsonValueKind.String ? output.GetString() : output.GetRawText()));
                        }
                        else
                        {
                            error($"input[{index}]", "A function_call_output item needs its call_id and output.");
                        }
                    }
                    else if (MessageItem(item, $"input[{index}]", error) is { } message)
                    {
                        messages.Add(message);
                    }
                    index++;
                }
                if (index == 0)
                {
                    error("input", "input must hold at least one item.");
                }
                break;
            default:
                error("input", "input must be a string or a list of message items.");
                break;
        }
        foreach (var (_, text) in messages)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                error("input", "A message of input is empty.");
            }
            else if (text.Length > maxLength)
            {
                error("input", $"A message of input is longer than {maxLength} characters (Chat:MaxMessageLength).");
            }
        }
        return messages;
    }

    /// <summary>A message item (a string or input_text/output_text parts), or null with its error.</summary>
    internal static (string Role, string Text)? MessageItem(JsonElement item, string param, Action<string, string> error)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            error(param, "Each input item must be an object.");
            return null;
        }
        var type = String(item, "type", error) ?? "message";
        if (type != "message")
        {
            error($"{param}.type", $"Input items of type '{type}' are not supported here; message items are.");
            return null;
        }
        var role = String(item, "role", error);
        if (role is not ("user" or "system" or "developer" or "assistant"))
        {
            error($"{param}.role", "role must be user, system, developer or assistant.");
            return null;
        }
        switch (Field(item, "content"))
        {
            case { ValueKind: JsonValueKind.String } text:
                return (role, text.GetString()!);
            case { ValueKind: JsonValueKind.Array } parts:
                var texts = new List<string>();
                foreach (var part in parts.EnumerateArray())
                {
                    var partType = part.ValueKind == JsonValueKind.Object ? String(part, "type", error) : null;
                    if (partType is not ("input_text" or "output_text") || String(part, "text", error) is not { } text)
                    {
                        error($"{param}.content", "Only input_text (and output_text) content parts are supported here.");
                        return null;
                    }
                    texts.Add(text);
                }
                return (role, string.Join("\n", texts));
            default:
                error($"{param}.content", "content must be a string or a list of input_text parts.");
                return null;
        }
    }

    /// <summary>The metadata of a body: at most 16 pairs of strings, as OpenAI bounds them.</summary>
    internal static Dictionary<string, string> ReadMetadata(JsonElement body, Action<string, string> error)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (Field(body, "metadata"))
        {
            case null:
                break;
            case { ValueKind: JsonValueKind.Object } pairs:
                foreach (var pair in pairs.EnumerateObject())
                {
                    if (pair.Value.ValueKind != JsonValueKind.String || pair.Name.Length > 64 || pair.Value.GetString()!.Length > 512)
                    {
                        error("metadata", "metadata values must be strings of at most 512 characters, keys at most 64.");
                        break;
                    }
                    metadata[pair.Name] = pair.Value.GetString()!;
                }
                if (metadata.Count > MaxMetadataPairs)
                {
                    error("metadata", $"metadata holds at most {MaxMetadataPairs} pairs.");
                }
                break;
            default:
                error("metadata", "metadata must be an object of string values.");
                break;
        }
        return metadata;
    }

    // Function tools, declared to the model: it may call them, and the client runs the calls.
    internal static List<AITool> ReadTools(JsonElement body, Action<string, string> error)
    {
        List<AITool> tools = [];
        switch (Field(body, "tools"))
        {
            case null:
                break;
            case { ValueKind: JsonValueKind.Array } list:
                var index = 0;
                foreach (var tool in list.EnumerateArray())
                {
                    var param = $"tools[{index++}]";
                    var type = tool.ValueKind == JsonValueKind.Object ? String(tool, "type", error) : null;
                    if (type == "mcp")
                    {
                        // The server's own tools: McpToolInput reads them.
                    }
                    else if (type != "function")
                    {
                        error($"{param}.type", $"Tools of type '{type}' are not supported here; function and mcp tools are.");
                    }
                    else if (String(tool, "name", error) is not { Length: > 0 } name)
                    {
                        error($"{param}.name", "A function tool needs its name.");
                    }
                    else
                    {
                        var parameters = Field(tool, "parameters") is { ValueKind: JsonValueKind.Object } schema
                            ? schema.Clone()
                            : JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
                        tools.Add(AIFunctionFactory.CreateDeclaration(name, String(tool, "description", error), parameters));
                    }
                }
                break;
            default:
                error("tools", "tools must be a list of function tools.");
                break;
        }
        return tools;
    }

    // auto, none, required, or {"type": "function", "name": ...} when there are tools; auto or none when there are not.
    internal static (JsonElement? Choice, ChatToolMode? Mode) ReadToolChoice(JsonElement body, IReadOnlyList<string> tools, Action<string, string> error)
    {
        var choice = Field(body, "tool_choice");
        ChatToolMode? mode = choice switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } value => value.GetString() switch
            {
                "auto" => ChatToolMode.Auto,
                "none" => ChatToolMode.None,
                "required" when tools.Count > 0 => ChatToolMode.RequireAny,
                _ => null,
            },
            { ValueKind: JsonValueKind.Object } value when String(value, "type", error) == "function"
                && String(value, "name", error) is { Length: > 0 } name && tools.Contains(name) => ChatToolMode.RequireSpecific(name),
            _ => null,
        };
        if (choice is not null && mode is null)
        {
            error("tool_choice", "tool_choice must be auto, none, required or {\"type\": \"function\", \"name\": ...} naming a tool of the request.");
        }
        return (choice?.Clone(), mode);
    }

    internal static (JsonElement? Text, ChatResponseFormat? Format) TextFormat(JsonElement body, Action<string, string> error)
    {
        if (Field(body, "text") is not { } text)
        {
            return (null, null);
        }
        if (text.ValueKind != JsonValueKind.Object)
        {
            error("text", "text must be an object.");
            return (null, null);
        }
        if (Field(text, "format") is not { } format)
        {
            return (text.Clone(), null);
        }
        switch (format.ValueKind == JsonValueKind.Object ? String(format, "type", error) : null)
        {
            case "text":
                return (text.Clone(), ChatResponseFormat.Text);
            case "json_object":
                return (text.Clone(), ChatResponseFormat.Json);
            case "json_schema" when Field(format, "schema") is { ValueKind: JsonValueKind.Object } schema
                                   && String(format, "name", error) is { Length: > 0 } name:
                return (text.Clone(), ChatResponseFormat.ForJsonSchema(schema.Clone(), name, String(format, "description", error)));
            default:
                error("text.format", "text.format must be {\"type\": \"text\"}, {\"type\": \"json_object\"}, or {\"type\": \"json_schema\", \"name\", \"schema\"}.");
                return (null, null);
        }
    }
}
