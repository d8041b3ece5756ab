using System.Collections.Concurrent;
using ModelContextProtocol.Client;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Tools;

/// <summary>A server's tools could not be listed: the turn cannot offer them, and fails naming the server.</summary>
public sealed class McpServerUnavailableException(string label, Exception? inner)
    : Exception($"The MCP server '{label}' could not be reached to list its tools.", inner)
{
    public string Label { get; } = label;
}

/// <summary>
/// The MCP servers of the turns: one client per configured server, kept between turns (a session that fails is
/// dropped and made again by the next turn); a client per turn for a server a request names itself, whose connection
/// goes through <see cref="ServerAddressGuard"/>. Tool lists are kept for <see cref="ToolOptions.ToolListCacheTime"/>.
/// </summary>
public sealed class McpServers(
    IHttpClientFactory httpClients, IOptions<ToolOptions> options, TimeProvider clock, ILoggerFactory loggers) : IAsyncDisposable
{
    /// <summary>The HttpClient of the servers the deployment configured.</summary>
    public const string ConfiguredClient = "mcp";

    /// <summary>The HttpClient of servers a request names, which connects to public addresses only.</summary>
    public const string RequestedClient = "mcp-requested";

    private readonly ConcurrentDictionary<string, Lazy<Task<McpClient>>> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, IList<McpClientTool> Tools)> _lists = new(StringComparer.Ordinal);

    /// <summary>
    /// The tools of the chosen servers, listed (or taken from the cache); throws <see cref="McpServerUnavailableException"/>
    /// for the first server that cannot be listed.
    /// </summary>
    public async Task<McpToolset> OpenAsync(IReadOnlyList<McpToolChoice> choices, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var servers = new List<McpServerTools>();
        var owned = new List<McpClient>();
        try
        {
            foreach (var choice in choices)
            {
                settings.Mcp.Servers.TryGetValue(choice.Label, out var configured);
                var timeout = configured?.Timeout ?? settings.CallTimeout;
                McpApproval.TryParse(configured?.RequireApproval, out var configuredApproval);
                IList<McpClientTool> tools;
                try
                {
                    if (choice.Url is null && configured is not null)
                    {
                        tools = await ConfiguredToolsAsync(choice.Label, configured, cancellationToken);
                    }
                    else
                    {
                        var client = await ConnectAsync(choice.Url!, choice.Headers, RequestedClient, cancellationToken);
                        owned.Add(client);
                        tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw new McpServerUnavailableException(choice.Label, exception);
                }
                var allowed = choice.AllowedTools ?? configured?.AllowedTools;
                servers.Add(new McpServerTools(
                    choice.Label,
                    [.. tools.Where(tool => allowed is null || allowed.Contains(tool.Name))],
                    choice.Approval ?? configuredApproval,
                    timeout));
            }
        }
        catch
        {
            foreach (var client in owned)
            {
                await client.DisposeAsync();
            }
            throw;
        }
        return new McpToolset(servers, owned, settings.MaxOutputCharacters, this);
    }

    /// <summary>Forgets a configured server's client after a failure, so that the next turn connects again.</summary>
    internal void Forget(string label)
    {
        if (_clients.TryRemove(label, out var client) && client.IsValueCreated)
        {
            _ = client.Value.ContinueWith(task => task.IsCompletedSuccessfully ? task.Result.DisposeAsync().AsTask() : Task.CompletedTask,
                TaskScheduler.Default);
        }
        _lists.TryRemove(label, out _);
    }

    private async Task<IList<McpClientTool>> ConfiguredToolsAsync(string label, McpServerOptions server, CancellationToken cancellationToken)
    {
        if (_lists.TryGetValue(label, out var listed) && listed.Until > clock.GetUtcNow())
        {
            return listed.Tools;
        }
        try
        {
            var client = await _clients.GetOrAdd(label, _ => new Lazy<Task<McpClient>>(
                () => ConnectAsync(server.Url!, server.Headers, ConfiguredClient, CancellationToken.None))).Value.WaitAsync(cancellationToken);
            var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
            _lists[label] = (clock.GetUtcNow() + options.Value.ToolListCacheTime, tools);
            return tools;
        }
        catch
        {
            Forget(label);
            throw;
        }
    }

    private Task<McpClient> ConnectAsync(
        Uri url, IReadOnlyDictionary<string, string>? headers, string httpClient, CancellationToken cancellationToken)
    {
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = url,
                TransportMode = HttpTransportMode.AutoDetect,
                AdditionalHeaders = headers?.ToDictionary(StringComparer.OrdinalIgnoreCase),
                ConnectionTimeout = options.Value.CallTimeout,
            },
            httpClients.CreateClient(httpClient), loggers);
        return McpClient.CreateAsync(transport, loggerFactory: loggers, cancellationToken: cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values.Where(client => client.IsValueCreated))
        {
            await ((Task)client.Value).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (client.Value.IsCompletedSuccessfully)
            {
                await client.Value.Result.DisposeAsync();
            }
        }
    }
}
