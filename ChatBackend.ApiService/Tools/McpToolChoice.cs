namespace ChatBackend.ApiService.Tools;

/// <summary>
/// An MCP server a request lets the model use: a configured one by its label, or (<see cref="Url"/>) one the request
/// names itself, which <c>Tools:Mcp:AllowedUrls</c> must allow; optionally narrowed to some of its tools, with the
/// request's own approval rule and headers.
/// </summary>
public sealed record McpToolChoice(
    string Label,
    Uri? Url = null,
    IReadOnlyList<string>? AllowedTools = null,
    McpApproval? Approval = null,
    IReadOnlyDictionary<string, string>? Headers = null);
