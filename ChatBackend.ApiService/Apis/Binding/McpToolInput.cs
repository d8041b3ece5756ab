using System.Text.Json;
using ChatBackend.ApiService.Tools;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// The MCP servers a request chooses: <c>tools</c> of type <c>mcp</c> on /v1/responses (a configured server by its
/// <c>server_label</c>, or a <c>server_url</c> that <c>Tools:Mcp:AllowedUrls</c> allows and that is no address literal
/// of the operator's network), or the native send's <c>tools</c>, configured labels separated by commas.
/// </summary>
public static class McpToolInput
{
    /// <summary>The <c>mcp</c> entries of a /v1 <c>tools</c> list; every other entry is left to the function tools' reader.</summary>
    public static List<McpToolChoice> Read(JsonElement body, ToolOptions options, Action<string, string> error)
    {
        List<McpToolChoice> choices = [];
        if (!body.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Array)
        {
            return choices;
        }
        var index = -1;
        foreach (var tool in tools.EnumerateArray())
        {
            index++;
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.GetString() != "mcp")
            {
                continue;
            }
            var param = $"tools[{index}]";
            var label = Text(tool, "server_label");
            if (label is null || !ToolOptions.IsLabel(label))
            {
                error($"{param}.server_label", "An mcp tool needs a server_label of 1 to 64 letters, digits, '_' or '-'.");
                continue;
            }
            Uri? url = null;
            options.Mcp.Servers.TryGetValue(label, out var configured);
            // A configured server named with its own URL (as SDKs require one) is that server.
            if (Text(tool, "server_url") is { } given
                && !(configured?.Url is { } configuredUrl && Uri.TryCreate(given, UriKind.Absolute, out var named) && named == configuredUrl))
            {
                if (!Uri.TryCreate(given, UriKind.Absolute, out url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                {
                    error($"{param}.server_url", "server_url must be an absolute http or https URL.");
                    continue;
                }
                if (ServerAddressGuard.IsInternalLiteral(url))
                {
                    error($"{param}.server_url", "server_url names a loopback, link-local or private address: refused.");
                    continue;
                }
                if (!options.AllowsUrl(url))
                {
                    error($"{param}.server_url", "This server_url is not one the deployment allows (Tools:Mcp:AllowedUrls).");
                    continue;
                }
            }
            else if (configured is null)
            {
                error($"{param}.server_label", $"No MCP server '{label}' is configured here (Tools:Mcp:Servers), and no server_url was given.");
                continue;
            }
            var headers = Headers(tool, param, error);
            // OpenAI's authorization field: an OAuth access token for the server, sent as a bearer token.
            if (Text(tool, "authorization") is { Length: > 0 } token)
            {
                (headers ??= new(StringComparer.OrdinalIgnoreCase))["Authorization"] = $"Bearer {token}";
            }
            choices.Add(new McpToolChoice(label, url, AllowedTools(tool), Approval(tool, param, error), headers));
        }
        return choices;
    }

    /// <summary>The native send's <c>tools</c>: labels of configured servers separated by commas (null when absent).</summary>
    public static List<McpToolChoice>? ReadLabels(string? labels, ToolOptions options, Dictionary<string, string[]> errors, string field)
    {
        if (string.IsNullOrWhiteSpace(labels))
        {
            return null;
        }
        var named = labels.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
        var unknown = named.Where(label => !options.Mcp.Servers.ContainsKey(label)).ToList();
        if (unknown.Count > 0)
        {
            errors[field] = [$"The tools field names MCP servers this deployment does not configure: {string.Join(", ", unknown)} (Tools:Mcp:Servers: {string.Join(", ", options.Mcp.Servers.Keys)})."];
            return null;
        }
        return [.. named.Select(label => new McpToolChoice(label))];
    }

    // allowed_tools: a list of names, or {"tool_names": [...]}.
    private static List<string>? AllowedTools(JsonElement tool)
    {
        if (!tool.TryGetProperty("allowed_tools", out var allowed))
        {
            return null;
        }
        if (allowed.ValueKind == JsonValueKind.Object && allowed.TryGetProperty("tool_names", out var names))
        {
            allowed = names;
        }
        return allowed.ValueKind == JsonValueKind.Array
            ? [.. allowed.EnumerateArray().Where(name => name.ValueKind == JsonValueKind.String).Select(name => name.GetString()!)]
            : null;
    }

    // require_approval: "always", "never", or {"always": {"tool_names": [...]}, "never": {...}}.
    private static McpApproval? Approval(JsonElement tool, string param, Action<string, string> error)
    {
        if (!tool.TryGetProperty("require_approval", out var rule) || rule.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (rule.ValueKind == JsonValueKind.String && McpApproval.TryParse(rule.GetString(), out var simple) && rule.GetString() is "always" or "never")
        {
            return simple;
        }
        if (rule.ValueKind == JsonValueKind.Object)
        {
            return rule.TryGetProperty("always", out var always) && always.ValueKind == JsonValueKind.Object
                && always.TryGetProperty("tool_names", out var names) && names.ValueKind == JsonValueKind.Array
                ? new McpApproval(false, names.EnumerateArray().Select(name => name.GetString() ?? "").ToHashSet(StringComparer.Ordinal))
                : McpApproval.Never;
        }
        error($"{param}.require_approval", "require_approval must be always, never, or an object naming tool_names.");
        return null;
    }

    // headers: an object of strings, sent to the server (secrets: kept for the turn, never echoed).
    private static Dictionary<string, string>? Headers(JsonElement tool, string param, Action<string, string> error)
    {
        if (!tool.TryGetProperty("headers", out var headers) || headers.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (headers.ValueKind != JsonValueKind.Object || headers.EnumerateObject().Any(header => header.Value.ValueKind != JsonValueKind.String))
        {
            error($"{param}.headers", "headers must be an object of strings.");
            return null;
        }
        return headers.EnumerateObject().ToDictionary(header => header.Name, header => header.Value.GetString()!, StringComparer.OrdinalIgnoreCase);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
