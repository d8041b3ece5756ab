namespace ChatBackend.ApiService.Tools;

/// <summary>Which calls of a server need the user's approval before they run: all, none, or those of named tools.</summary>
public sealed record McpApproval(bool Always, IReadOnlySet<string> Tools)
{
    public static readonly McpApproval Never = new(false, new HashSet<string>());

    public bool Requires(string tool) => Always || Tools.Contains(tool);

    /// <summary><c>always</c>, <c>never</c> or empty, or tool names separated by commas.</summary>
    public static bool TryParse(string? text, out McpApproval approval)
    {
        approval = Never;
        switch (text?.Trim())
        {
            case null or "" or "never":
                return true;
            case "always":
                approval = new McpApproval(true, new HashSet<string>());
                return true;
            case var names:
                var tools = names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                approval = new McpApproval(false, tools.ToHashSet(StringComparer.Ordinal));
                return tools.Length > 0;
        }
    }
}
