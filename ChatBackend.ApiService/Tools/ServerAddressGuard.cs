using System.Net;
using System.Net.Sockets;

namespace ChatBackend.ApiService.Tools;

/// <summary>
/// Keeps a request's MCP server off the operator's network: the connection of the client that serves servers named by
/// requests resolves the host itself, refuses it when any of its addresses is loopback, link-local, private, shared
/// (CGNAT), unspecified or multicast, and connects to the addresses it checked (so a second resolution cannot answer
/// otherwise). Servers the deployment configured are not limited.
/// </summary>
public static class ServerAddressGuard
{
    /// <summary>Whether an address belongs to the machine or to a network that is not the public internet.</summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            || address.Equals(IPAddress.Broadcast) || address.Equals(IPAddress.IPv6None))
        {
            return true;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var first = address.GetAddressBytes()[0];
            // fc00::/7 unique local, fe80::/10 link-local (IsIPv6LinkLocal), ff00::/8 multicast.
            return (first & 0xFE) == 0xFC || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast;
        }
        var bytes = address.GetAddressBytes();
        return bytes[0] switch
        {
            0 or 10 or 127 => true,
            100 => bytes[1] >= 64 && bytes[1] < 128,
            169 => bytes[1] == 254,
            172 => bytes[1] >= 16 && bytes[1] < 32,
            192 => bytes[1] == 168 || (bytes[1] == 0 && bytes[2] == 0),
            >= 224 => true,
            _ => false,
        };
    }

    /// <summary>Whether a URL's host is an address literal that <see cref="IsInternal"/> refuses.</summary>
    public static bool IsInternalLiteral(Uri url) =>
        IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var address) && IsInternal(address);

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that connects to public addresses only, by
    /// <paramref name="connect"/> when given (a test's, which refuses all but loopback), else a socket.
    /// </summary>
    public static async ValueTask<Stream> ConnectPublicAsync(
        SocketsHttpConnectionContext context, CancellationToken cancellationToken,
        Func<IPAddress[], int, CancellationToken, ValueTask<Stream>>? connect = null)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0 || addresses.Any(IsInternal))
        {
            throw new HttpRequestException(
                $"The MCP server's host '{host}' is, or resolves to, a loopback, link-local or private address: refused.");
        }
        return await (connect ?? ConnectAsync)(addresses, context.DnsEndPoint.Port, cancellationToken);
    }

    /// <summary>A TCP connection to the first of <paramref name="addresses"/> that answers, as a stream.</summary>
    public static async ValueTask<Stream> ConnectAsync(IPAddress[] addresses, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
