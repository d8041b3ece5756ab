using System.Text.RegularExpressions;

namespace ChatBackend.ApiService.Tools;

/// <summary>
/// Tools the server runs during a turn (section <c>Tools</c>): the MCP servers a deployment allows, and the bounds of
/// every tool round. Validated at start (<see cref="Validate"/>).
/// </summary>
public sealed partial class ToolOptions
{
    public const string SectionName = "Tools";

    /// <summary>Rounds of tool calls in one turn; the model call after the last one is told to answer (tool choice none).</summary>
    public int MaxRounds { get; set; } = 5;

    /// <summary>How long one tool call may take, unless its server says otherwise.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most characters of one call's output given to the model and stored; a longer one is cut and says so.</summary>
    public int MaxOutputCharacters { get; set; } = 20_000;

    /// <summary>How long a server's list of tools is reused before it is asked again.</summary>
    public TimeSpan ToolListCacheTime { get; set; } = TimeSpan.FromMinutes(5);

    public McpOptions Mcp { get; set; } = new();

    /// <summary>Every rule the section must keep, as one message per broken rule.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxRounds is < 1 or > 50)
        {
            yield return "Tools:MaxRounds must be 1 to 50.";
        }
        if (CallTimeout <= TimeSpan.Zero || ToolListCacheTime < TimeSpan.Zero)
        {
            yield return "Tools:CallTimeout must be positive and Tools:ToolListCacheTime not negative.";
        }
        if (MaxOutputCharacters < 100)
        {
            yield return "Tools:MaxOutputCharacters must be at least 100.";
        }
        foreach (var (label, server) in Mcp.Servers)
        {
            if (!IsLabel(label))
            {
                yield return $"Tools:Mcp:Servers:{label}: a label is 1 to 64 letters, digits, '_' or '-'.";
            }
            if (server.Url is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                yield return $"Tools:Mcp:Servers:{label}:Url must be an absolute http or https URL.";
            }
            if (!McpApproval.TryParse(server.RequireApproval, out _))
            {
                yield return $"Tools:Mcp:Servers:{label}:RequireApproval must be always, never, or tool names separated by commas.";
            }
            if (server.Timeout is { } timeout && timeout <= TimeSpan.Zero)
            {
                yield return $"Tools:Mcp:Servers:{label}:Timeout must be positive.";
            }
        }
        foreach (var allowed in Mcp.AllowedUrls)
        {
            if (!Uri.TryCreate(allowed, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                yield return $"Tools:Mcp:AllowedUrls: '{allowed}' is not an absolute http or https URL.";
            }
        }
    }

    /// <summary>Whether a request's server_url is one the deployment allows: listed, or under a listed one ending in '/'.</summary>
    public bool AllowsUrl(Uri url) => Mcp.AllowedUrls.Any(allowed =>
        string.Equals(allowed, url.AbsoluteUri, StringComparison.OrdinalIgnoreCase)
        || (allowed.EndsWith('/') && url.AbsoluteUri.StartsWith(allowed, StringComparison.OrdinalIgnoreCase)));

    public static bool IsLabel(string label) => LabelPattern().IsMatch(label);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex LabelPattern();
}

/// <summary>The MCP part of <see cref="ToolOptions"/>: the servers by label, and the URLs a request may name itself.</summary>
public sealed class McpOptions
{
    public Dictionary<string, McpServerOptions> Servers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Server URLs a request's <c>server_url</c> may name (exactly, or under one that ends in '/').</summary>
    public List<string> AllowedUrls { get; set; } = [];
}

/// <summary>One MCP server a deployment allows (<c>Tools:Mcp:Servers:{label}</c>).</summary>
public sealed class McpServerOptions
{
    /// <summary>Its streamable HTTP endpoint (an SSE endpoint works too).</summary>
    public Uri? Url { get; set; }

    /// <summary>Headers sent with every request to it (credentials): secrets, never logged, traced or answered.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The tools of its list the model may call; all when absent.</summary>
    public List<string>? AllowedTools { get; set; }

    /// <summary><c>always</c>, <c>never</c> (the default), or the names of the tools whose calls need approval.</summary>
    public string RequireApproval { get; set; } = "never";

    /// <summary>How long one call to it may take (<see cref="ToolOptions.CallTimeout"/> when absent).</summary>
    public TimeSpan? Timeout { get; set; }
}
