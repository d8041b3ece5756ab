using ChatBackend.ApiService.Chat;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A response's output items in the order its stream adds them: an MCP item where its tool event happened in the
/// reply's text, the message where its text began, the function calls at the end. The stream and every read of the
/// response build it alike, so that an item's <c>output_index</c> in the stream is its place in the object.
/// </summary>
public sealed class ResponseOutput(ResponseHead head)
{
    private readonly List<object> _items = [];
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);
    private int _mcpItems;

    public IReadOnlyList<object> Items => _items;

    /// <summary>The message's place, once its text began.</summary>
    public int? MessageIndex { get; private set; }

    /// <summary>The output of a reply's text and tool events (all of either so far).</summary>
    public static ResponseOutput Of(ResponseHead head, string? text, IReadOnlyList<ToolEvent> tools)
    {
        var output = new ResponseOutput(head);
        foreach (var item in ReplyEvent.Merge(text is { Length: > 0 } ? [(text, text.Length)] : [], tools, StreamPosition.Start))
        {
            if (item is ReplyEvent.Tool(var step, _))
            {
                output.Apply(step);
            }
            else
            {
                output.BeginMessage();
            }
        }
        return output;
    }

    /// <summary>Adds the message (in progress, no text yet) where its text begins; its place.</summary>
    public int BeginMessage()
    {
        if (MessageIndex is not { } index)
        {
            MessageIndex = index = Add(new OutputMessageItem(head.OutputItemId, ResponseObjects.InProgress, []));
        }
        return index;
    }

    /// <summary>The message as it ended.</summary>
    public void EndMessage(OutputMessageItem message) => _items[MessageIndex!.Value] = message;

    /// <summary>The item a tool event adds (or, at a call's end, completes), and its place.</summary>
    public (int Index, object Item) Apply(ToolEvent step)
    {
        var entry = step.Entry;
        // A call's end completes the item its start added (a later call may use the same id: a new item).
        if (entry.Type == ToolCall.McpCall && step.Ended && _calls.Remove(entry.CallId, out var started))
        {
            return (started, _items[started] = Call(((McpCallItem)_items[started]).Id, step));
        }
        object item = entry.Type switch
        {
            ToolCall.McpListTools => new McpListToolsItem(head.McpItemId(_mcpItems++), entry.ServerLabel!, entry.Tools!.Value),
            ToolCall.McpCall => Call(head.McpItemId(_mcpItems++), step),
            _ => new McpApprovalRequestItem(ResponseHead.ApprovalRequestId(entry.CallId), entry.ServerLabel!, entry.Name!, entry.Arguments!),
        };
        var index = Add(item);
        if (entry.Type == ToolCall.McpCall)
        {
            _calls[entry.CallId] = index;
        }
        return (index, item);
    }

    /// <summary>Adds an item at the end (a function call); its place.</summary>
    public int Add(object item)
    {
        _items.Add(item);
        return _items.Count - 1;
    }

    private static McpCallItem Call(string id, ToolEvent step) => new(
        id, step.Entry.ServerLabel!, step.Entry.Name!, step.Entry.Arguments!, step.Entry.Output, step.Entry.Error,
        !step.Ended ? ResponseObjects.InProgress : step.Entry.Error is null ? ResponseObjects.Completed : ResponseObjects.Failed);
}
