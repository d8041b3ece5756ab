using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>Reads a text/event-stream response, as the API's streaming clients do, into its events and comments.</summary>
public static class ServerSentEvents
{
    public sealed record Event(string Name, JsonElement Data, string? Id = null);

    public static async IAsyncEnumerable<Event> ReadEventsAsync(
        HttpResponseMessage response, List<string>? comments = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream);
        string? name = null;
        string? id = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null)
                {
                    yield return new Event(name, JsonDocument.Parse(data.ToString()).RootElement.Clone(), id);
                }
                (name, id, data) = (null, null, new StringBuilder());
            }
            else if (line.StartsWith(':'))
            {
                comments?.Add(line);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line["id: ".Length..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line["data: ".Length..]);
            }
        }
    }

    /// <summary>
    /// Every event of a 200 stream to its end, within <see cref="TestTimeouts.Bound"/>; comments go to
    /// <paramref name="comments"/> when given.
    /// </summary>
    public static async Task<List<Event>> ReadAllAsync(HttpResponseMessage response, List<string>? comments = null)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var bound = TestTimeouts.Cancellation();
        var events = new List<Event>();
        await foreach (var item in ReadEventsAsync(response, comments, bound.Token))
        {
            events.Add(item);
        }
        return events;
    }
}
