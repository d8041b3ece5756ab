using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Mvc;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A reply as the Responses API streams it: <c>response.created</c>, <c>response.in_progress</c>, the output
/// message and its text part added, a <c>response.output_text.delta</c> per piece, the text, part and message done,
/// then <c>response.completed</c> (or <c>.incomplete</c>, <c>.failed</c>). Sequence numbers follow the text, not the
/// pieces: a delta's is 3 plus the offset its text ends at, the closing events' 4 to 7 plus the text's length. So the
/// same number means the same point of the reply on every instance, and <c>starting_after</c> resumes from it
/// wherever the stream was read before.
/// </summary>
public sealed class ResponseStreamFormat(ResponseHead head, long startingAfter, bool queued) : ReplyStreamFormat
{
    private const int TextStart = 3;

    private bool _ended;

    // The number of the last event written (the SDKs read sequence numbers as 32-bit integers).
    private long _last = startingAfter;

    private readonly long _startingAfter = startingAfter;

    public override void WriteStart(ChatEventStream.EventWriter writer)
    {
        var running = ResponseObjects.For(head, null, running: queued ? ResponseObjects.Queued : ResponseObjects.InProgress);
        Write(writer, 0, "response.created", new { type = "response.created", sequence_number = 0, response = running });
        Write(writer, 1, "response.in_progress", new { type = "response.in_progress", sequence_number = 1, response = running });
        Write(writer, 2, "response.output_item.added", new
        {
            type = "response.output_item.added", sequence_number = 2, output_index = 0,
            item = new OutputMessageItem(head.OutputItemId, ResponseObjects.InProgress, []),
        });
        Write(writer, 3, "response.content_part.added", new
        {
            type = "response.content_part.added", sequence_number = 3, item_id = head.OutputItemId, output_index = 0,
            content_index = 0, part = new OutputTextContent(""),
        });
    }

    public override void Write(ChatEventStream.EventWriter writer, ReplyEvent item)
    {
        if (_ended)
        {
            return;
        }
        switch (item)
        {
            case ReplyEvent.Delta(var text, var position):
                var number = TextStart + position.Offset;
                Write(writer, number, "response.output_text.delta", new
                {
                    type = "response.output_text.delta", sequence_number = number, item_id = head.OutputItemId,
                    output_index = 0, content_index = 0, delta = text, logprobs = Array.Empty<object>(),
                });
                break;
            case ReplyEvent.Restarted(var position):
                // The Responses API has no event for a reply that starts again: the client reads it anew.
                WriteError(writer, TextStart + position.Offset + 1, "response_restarted",
                    $"Another server took this response over and started its reply again; read it anew with GET /v1/responses/{head.Id}?stream=true.");
                break;
            case ReplyEvent.Ended(TurnOutcome.TakenOver or TurnOutcome.ServerStopping, var position):
                WriteError(writer, TextStart + position.Offset + 1, "response_moved",
                    $"This server stopped following the response; resume it with GET /v1/responses/{head.Id}?stream=true&starting_after={TextStart + position.Offset}.");
                break;
            case ReplyEvent.Ended(var outcome, var position):
                WriteEnd(writer, ResponseObjects.For(head, outcome), position.Offset);
                break;
        }
    }

    public override void WriteFailure(ChatEventStream.EventWriter writer, ProblemDetails problem)
    {
        var error = OpenAIErrorWriter.ErrorOf(problem);
        WriteError(writer, _last + 1, error.Code ?? "server_error", error.Message);
    }

    private void WriteEnd(ChatEventStream.EventWriter writer, ResponseObject response, int length)
    {
        var done = TextStart + length + 1;
        if (response.Output.OfType<OutputMessageItem>().FirstOrDefault() is { } message)
        {
            var text = message.Content[0].Text;
            Write(writer, done, "response.output_text.done", new
            {
                type = "response.output_text.done", sequence_number = done, item_id = message.Id, output_index = 0,
                content_index = 0, text, logprobs = Array.Empty<object>(),
            });
            Write(writer, done + 1, "response.content_part.done", new
            {
                type = "response.content_part.done", sequence_number = done + 1, item_id = message.Id, output_index = 0,
                content_index = 0, part = message.Content[0],
            });
            Write(writer, done + 2, "response.output_item.done", new
            {
                type = "response.output_item.done", sequence_number = done + 2, output_index = 0, item = message,
            });
        }
        // The other items after the message, each with its place in the output: what the server ran on MCP servers (as
        // it ended: the stream carries the reply's text as it comes, the calls once the turn is over), then the
        // function calls and approval requests the client answers in its next request.
        long next = done + 3;
        foreach (var (item, index) in response.Output.Select((item, index) => (item, index)).Where(entry => entry.item is not OutputMessageItem))
        {
            next = item switch
            {
                McpListToolsItem list => WriteListTools(writer, next, index, list),
                McpCallItem call => WriteMcpCall(writer, next, index, call),
                FunctionCallItem call => WriteFunctionCall(writer, next, index, call),
                _ => WriteAddedAndDone(writer, next, index, item, item),
            };
        }
        var last = response.Status switch
        {
            ResponseObjects.Completed => "response.completed",
            ResponseObjects.Failed => "response.failed",
            // A cancelled response ends as one cut short: the Responses API streams no event of its own for it.
            _ => "response.incomplete",
        };
        Write(writer, next, last, new { type = last, sequence_number = next, response });
        _ended = true;
    }

    // output_item.added, then done: the numbers after them.
    private long WriteAddedAndDone(ChatEventStream.EventWriter writer, long next, int index, object added, object done)
    {
        Write(writer, next, "response.output_item.added", new { type = "response.output_item.added", sequence_number = next, output_index = index, item = added });
        Write(writer, next + 1, "response.output_item.done", new { type = "response.output_item.done", sequence_number = next + 1, output_index = index, item = done });
        return next + 2;
    }

    private long WriteListTools(ChatEventStream.EventWriter writer, long next, int index, McpListToolsItem list)
    {
        Write(writer, next, "response.output_item.added", new { type = "response.output_item.added", sequence_number = next, output_index = index, item = list });
        Write(writer, next + 1, "response.mcp_list_tools.in_progress", new
        {
            type = "response.mcp_list_tools.in_progress", sequence_number = next + 1, output_index = index, item_id = list.Id,
        });
        Write(writer, next + 2, "response.mcp_list_tools.completed", new
        {
            type = "response.mcp_list_tools.completed", sequence_number = next + 2, output_index = index, item_id = list.Id,
        });
        Write(writer, next + 3, "response.output_item.done", new { type = "response.output_item.done", sequence_number = next + 3, output_index = index, item = list });
        return next + 4;
    }

    private long WriteMcpCall(ChatEventStream.EventWriter writer, long next, int index, McpCallItem call)
    {
        Write(writer, next, "response.output_item.added", new
        {
            type = "response.output_item.added", sequence_number = next, output_index = index,
            item = call with { Arguments = "", Output = null, Error = null, Status = ResponseObjects.InProgress },
        });
        Write(writer, next + 1, "response.mcp_call.in_progress", new
        {
            type = "response.mcp_call.in_progress", sequence_number = next + 1, output_index = index, item_id = call.Id,
        });
        Write(writer, next + 2, "response.mcp_call_arguments.delta", new
        {
            type = "response.mcp_call_arguments.delta", sequence_number = next + 2, output_index = index, item_id = call.Id, delta = call.Arguments,
        });
        Write(writer, next + 3, "response.mcp_call_arguments.done", new
        {
            type = "response.mcp_call_arguments.done", sequence_number = next + 3, output_index = index, item_id = call.Id, arguments = call.Arguments,
        });
        var ended = call.Error is null ? "response.mcp_call.completed" : "response.mcp_call.failed";
        Write(writer, next + 4, ended, new { type = ended, sequence_number = next + 4, output_index = index, item_id = call.Id });
        Write(writer, next + 5, "response.output_item.done", new { type = "response.output_item.done", sequence_number = next + 5, output_index = index, item = call });
        return next + 6;
    }

    // Four events each; a call's output comes with the client's next request.
    private long WriteFunctionCall(ChatEventStream.EventWriter writer, long next, int index, FunctionCallItem call)
    {
        Write(writer, next, "response.output_item.added", new
        {
            type = "response.output_item.added", sequence_number = next, output_index = index,
            item = call with { Arguments = "", Status = ResponseObjects.InProgress },
        });
        Write(writer, next + 1, "response.function_call_arguments.delta", new
        {
            type = "response.function_call_arguments.delta", sequence_number = next + 1, item_id = call.Id, output_index = index, delta = call.Arguments,
        });
        Write(writer, next + 2, "response.function_call_arguments.done", new
        {
            type = "response.function_call_arguments.done", sequence_number = next + 2, item_id = call.Id, output_index = index, arguments = call.Arguments,
        });
        Write(writer, next + 3, "response.output_item.done", new { type = "response.output_item.done", sequence_number = next + 3, output_index = index, item = call });
        return next + 4;
    }

    // Always sent, whatever the client had: it ends this stream, and is no point of the reply to resume from.
    private void WriteError(ChatEventStream.EventWriter writer, long number, string code, string message)
    {
        number = Math.Max(number, _last + 1);
        writer.Write("error", new { type = "error", sequence_number = number, code, message, param = (string?)null }, id: null);
        _last = number;
        _ended = true;
    }

    private void Write<T>(ChatEventStream.EventWriter writer, long number, string name, T data)
    {
        if (number > _startingAfter)
        {
            writer.Write(name, data, id: number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _last = number;
        }
    }
}
