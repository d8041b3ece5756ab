using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace ChatBackend.ApiService.Tools;

/// <summary>A server's tools as a turn offers them: its label, the tools, which calls need approval, a call's time limit.</summary>
public sealed record McpServerTools(string Label, IReadOnlyList<McpClientTool> Tools, McpApproval Approval, TimeSpan Timeout);

/// <summary>How one tool call went: its output (cut to the cap, saying so), or the error the model is told.</summary>
public sealed record McpCallResult(string? Output, string? Error);

/// <summary>
/// The MCP tools of one turn: declared to the model, and called by name. A call's failure (the server down, slow, or
/// answering an error) is its result, for the model to see; only the run's own cancellation escapes.
/// </summary>
public sealed class McpToolset : IAsyncDisposable
{
    private readonly List<McpClient> _owned;
    private readonly int _maxOutput;
    private readonly McpServers _servers;
    private readonly Dictionary<string, (McpServerTools Server, McpClientTool Tool)> _byName = new(StringComparer.Ordinal);

    internal McpToolset(IReadOnlyList<McpServerTools> servers, List<McpClient> owned, int maxOutput, McpServers registry)
    {
        Servers = servers;
        _owned = owned;
        _maxOutput = maxOutput;
        _servers = registry;
        foreach (var server in servers)
        {
            foreach (var tool in server.Tools)
            {
                // Two servers with a tool of one name: the first chosen keeps it.
                _byName.TryAdd(tool.Name, (server, tool));
            }
        }
    }

    public IReadOnlyList<McpServerTools> Servers { get; }

    /// <summary>The tools as the model is told of them (declarations only: nothing runs them but <see cref="CallAsync"/>).</summary>
    public IEnumerable<AITool> Declarations => _byName.Values.Select(entry => (AITool)entry.Tool.AsDeclarationOnly());

    /// <summary>The server of a tool this set offers, or null (a function tool the client runs, or a name the model made up).</summary>
    public McpServerTools? ServerOf(string toolName) => _byName.TryGetValue(toolName, out var entry) ? entry.Server : null;

    /// <summary>Runs a call within its server's time limit; every failure but <paramref name="cancellationToken"/>'s is its result.</summary>
    public async Task<McpCallResult> CallAsync(string toolName, IDictionary<string, object?>? arguments, CancellationToken cancellationToken)
    {
        var (server, tool) = _byName[toolName];
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(server.Timeout);
        try
        {
            var result = await tool.CallAsync(arguments?.AsReadOnly(), progress: null, options: null, limit.Token);
            var text = TextOf(result);
            return result.IsError == true ? new McpCallResult(null, Capped(text.Length > 0 ? text : "The tool reported an error.")) : new McpCallResult(Capped(text), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new McpCallResult(null, $"The tool did not answer within {server.Timeout.TotalSeconds:0.###} s.");
        }
        catch (McpProtocolException exception)
        {
            return new McpCallResult(null, Capped($"The MCP server '{server.Label}' answered an error: {exception.Message}"));
        }
        catch (Exception exception) when (exception is McpException or HttpRequestException or IOException or JsonException or InvalidOperationException)
        {
            // The session may be gone (the server restarted): the next turn connects again.
            _servers.Forget(server.Label);
            return new McpCallResult(null, $"The MCP server '{server.Label}' could not run the tool ({exception.GetType().Name}).");
        }
    }

    private string Capped(string text) => text.Length <= _maxOutput
        ? text
        : $"{text[.._maxOutput]}\n[The output was cut at {_maxOutput} of its {text.Length} characters (Tools:MaxOutputCharacters).]";

    private static string TextOf(CallToolResult result)
    {
        var text = new StringBuilder();
        foreach (var block in result.Content)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }
            text.Append(block is TextContentBlock { Text: var piece } ? piece : JsonSerializer.Serialize(block, McpJsonUtilities.DefaultOptions));
        }
        if (text.Length == 0 && result.StructuredContent is { } structured)
        {
            text.Append(structured.ToString());
        }
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _owned)
        {
            await client.DisposeAsync();
        }
    }
}
