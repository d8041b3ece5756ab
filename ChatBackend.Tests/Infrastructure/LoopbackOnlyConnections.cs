using System.Collections.Concurrent;
using System.Net;
using ChatBackend.ApiService.Tools;
using Microsoft.Extensions.DependencyInjection;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// The connections of the API's MCP clients in tests: only loopback is ever connected to; any other address is
/// refused before a packet leaves and recorded, so a regression of the server's own guard fails a test instead of
/// making traffic. The requested servers' client keeps the product's guard in front (ServerAddressGuard).
/// </summary>
public sealed class LoopbackOnlyConnections
{
    public ConcurrentQueue<string> Refused { get; } = new();

    public void AddTo(IServiceCollection services)
    {
        services.AddHttpClient(McpServers.ConfiguredClient)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { ConnectCallback = ConnectAsync });
        services.AddHttpClient(McpServers.RequestedClient)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                ConnectCallback = (context, cancellation) => ServerAddressGuard.ConnectPublicAsync(context, cancellation, ConnectToAsync),
            });
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal]
            // Only names the machine itself answers (localhost) are resolved here; any other is refused unresolved.
            : host == "localhost" ? await Dns.GetHostAddressesAsync(host, cancellationToken) : [];
        if (addresses.Length == 0)
        {
            Refused.Enqueue(host);
            throw new HttpRequestException($"Tests connect to loopback only; '{host}' refused.");
        }
        return await ConnectToAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
    }

    private async ValueTask<Stream> ConnectToAsync(IPAddress[] addresses, int port, CancellationToken cancellationToken)
    {
        if (addresses.FirstOrDefault(address => !IPAddress.IsLoopback(address)) is { } outside)
        {
            Refused.Enqueue(outside.ToString());
            throw new HttpRequestException($"Tests connect to loopback only; {outside} refused.");
        }
        return await ServerAddressGuard.ConnectAsync(addresses, port, cancellationToken);
    }
}
