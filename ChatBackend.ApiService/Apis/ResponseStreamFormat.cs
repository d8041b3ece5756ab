using System.Globalization;
using System.Text.Json;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Mvc;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A reply as the Responses API streams it: <c>response.created</c>, <c>response.in_progress</c>; the output
/// message and its text part added at the first piece of text, a <c>response.output_text.delta</c> per piece; an MCP
/// item's events where its tool work happened (<c>response.mcp_list_tools.*</c>, <c>response.mcp_call.*</c> as a call
/// starts and as it ends, an approval request); at the end the text, part and message done, the function calls, then
/// <c>response.completed</c> (or <c>.incomplete</c>, <c>.failed</c>). Sequence numbers follow the text, not the
/// pieces: an event's number is the count of the events before it that are not text deltas plus the text's offset
/// where it is; a delta's is one less than that count plus the offset its text ends at. So the same number means the same point of the reply on every instance however the
/// text was cut into pieces, and <c>starting_after</c> resumes from it wherever the stream was read before: the
/// stream is written from the start and what the client had is left out.
/// </summary>
public sealed class ResponseStreamFormat(ResponseHead head, long startingAfter, bool queued, int attempt = 0) : ReplyStreamFormat
{
    private readonly ResponseOutput _output = new(head);
    private readonly long _startingAfter = startingAfter;
    private int _attempt = attempt;

    // The events written that are not text deltas, and the text's offset so far: an event's number is their sum.
    private long _others;
    private int _offset;
    private bool _ended;

    // The number of the last event written (the SDKs read sequence numbers as 32-bit integers).
    private long _last = startingAfter;

    public override void WriteStart(ChatEventStream.EventWriter writer)
    {
        var running = ResponseObjects.For(head, null, running: queued ? ResponseObjects.Queued : ResponseObjects.InProgress);
        Write(writer, "response.created", number => new { type = "response.created", sequence_number = number, response = running });
        Write(writer, "response.in_progress", number => new { type = "response.in_progress", sequence_number = number, response = running });
    }

    public override void Write(ChatEventStream.EventWriter writer, ReplyEvent item)
    {
        if (_ended)
        {
            return;
        }
        if (item.Position.Attempt != _attempt)
        {
            // The client had events of an attempt that was given up (a turn taken over as the stream was resumed).
            if (_startingAfter >= 2)
            {
                WriteRestarted(writer);
                return;
            }
            _attempt = item.Position.Attempt;
        }
        switch (item)
        {
            case ReplyEvent.Delta(var text, var position):
                WriteDelta(writer, text, position.Offset);
                break;
            case ReplyEvent.Tool(var step, _):
                WriteTool(writer, step);
                break;
            case ReplyEvent.Restarted:
                WriteRestarted(writer);
                break;
            case ReplyEvent.Ended(TurnOutcome.TakenOver or TurnOutcome.ServerStopping, _):
                WriteError(writer, "response_moved",
                    $"This server stopped following the response; resume it with GET /v1/responses/{head.Id}?stream=true&starting_after={_last}.");
                break;
            case ReplyEvent.Ended(var outcome, _):
                WriteEnd(writer, ResponseObjects.For(head, outcome));
                break;
        }
    }

    public override void WriteFailure(ChatEventStream.EventWriter writer, ProblemDetails problem)
    {
        var error = OpenAIErrorWriter.ErrorOf(problem);
        WriteError(writer, error.Code ?? "server_error", error.Message);
    }

    private void WriteDelta(ChatEventStream.EventWriter writer, string text, int end)
    {
        if (_output.MessageIndex is null)
        {
            var index = _output.BeginMessage();
            Write(writer, "response.output_item.added", number => new
            {
                type = "response.output_item.added", sequence_number = number, output_index = index,
                item = new OutputMessageItem(head.OutputItemId, ResponseObjects.InProgress, []),
            });
            Write(writer, "response.content_part.added", number => new
            {
                type = "response.content_part.added", sequence_number = number, item_id = head.OutputItemId, output_index = index,
                content_index = 0, part = new OutputTextContent(""),
            });
        }
        var start = end - text.Length;
        _offset = end;
        var deltaNumber = _others - 1 + end;
        if (deltaNumber <= _startingAfter)
        {
            return;
        }
        // What of the piece the client had (a piece cut elsewhere than where it read up to).
        var had = (int)Math.Clamp(_startingAfter - (_others - 1) - start, 0, text.Length);
        // Written field by field: one event per piece of every stream, where the serializer's reflection showed.
        var json = writer.BeginEvent(DeltaEvent, deltaNumber.ToString(CultureInfo.InvariantCulture));
        json.WriteStartObject();
        json.WriteString(DeltaFields.Type, DeltaEvent);
        json.WriteNumber(DeltaFields.SequenceNumber, deltaNumber);
        json.WriteString(DeltaFields.ItemId, head.OutputItemId);
        json.WriteNumber(DeltaFields.OutputIndex, _output.MessageIndex!.Value);
        json.WriteNumber(DeltaFields.ContentIndex, 0);
        json.WriteString(DeltaFields.Delta, text.AsSpan(had));
        json.WriteStartArray(DeltaFields.Logprobs);
        json.WriteEndArray();
        json.WriteEndObject();
        writer.EndEvent();
        _last = deltaNumber;
    }

    private const string DeltaEvent = "response.output_text.delta";

    // The text delta event's fields, as OpenAI names them.
    private static class DeltaFields
    {
        public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
        public static readonly JsonEncodedText SequenceNumber = JsonEncodedText.Encode("sequence_number");
        public static readonly JsonEncodedText ItemId = JsonEncodedText.Encode("item_id");
        public static readonly JsonEncodedText OutputIndex = JsonEncodedText.Encode("output_index");
        public static readonly JsonEncodedText ContentIndex = JsonEncodedText.Encode("content_index");
        public static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
        public static readonly JsonEncodedText Logprobs = JsonEncodedText.Encode("logprobs");
    }

    private void WriteTool(ChatEventStream.EventWriter writer, ToolEvent step)
    {
        var (index, item) = _output.Apply(step);
        switch (item)
        {
            case McpListToolsItem list:
                Write(writer, "response.output_item.added", number => new { type = "response.output_item.added", sequence_number = number, output_index = index, item = list });
                Write(writer, "response.mcp_list_tools.in_progress", number => new
                {
                    type = "response.mcp_list_tools.in_progress", sequence_number = number, output_index = index, item_id = list.Id,
                });
                Write(writer, "response.mcp_list_tools.completed", number => new
                {
                    type = "response.mcp_list_tools.completed", sequence_number = number, output_index = index, item_id = list.Id,
                });
                WriteItemDone(writer, index, list);
                break;
            case McpCallItem call when !step.Ended:
                Write(writer, "response.output_item.added", number => new
                {
                    type = "response.output_item.added", sequence_number = number, output_index = index, item = call with { Arguments = "" },
                });
                Write(writer, "response.mcp_call.in_progress", number => new
                {
                    type = "response.mcp_call.in_progress", sequence_number = number, output_index = index, item_id = call.Id,
                });
                Write(writer, "response.mcp_call_arguments.delta", number => new
                {
                    type = "response.mcp_call_arguments.delta", sequence_number = number, output_index = index, item_id = call.Id, delta = call.Arguments,
                });
                Write(writer, "response.mcp_call_arguments.done", number => new
                {
                    type = "response.mcp_call_arguments.done", sequence_number = number, output_index = index, item_id = call.Id, arguments = call.Arguments,
                });
                break;
            case McpCallItem call:
                var ended = call.Error is null ? "response.mcp_call.completed" : "response.mcp_call.failed";
                Write(writer, ended, number => new { type = ended, sequence_number = number, output_index = index, item_id = call.Id });
                WriteItemDone(writer, index, call);
                break;
            default:
                WriteAddedAndDone(writer, index, item);
                break;
        }
    }

    private void WriteEnd(ChatEventStream.EventWriter writer, ResponseObject response)
    {
        // The message where the stream added it (a cancelled response keeps no MCP items: its object has it first).
        if (_output.MessageIndex is { } index && response.Output.OfType<OutputMessageItem>().FirstOrDefault() is { } message)
        {
            var text = message.Content[0].Text;
            Write(writer, "response.output_text.done", number => new
            {
                type = "response.output_text.done", sequence_number = number, item_id = message.Id, output_index = index,
                content_index = 0, text, logprobs = Array.Empty<object>(),
            });
            Write(writer, "response.content_part.done", number => new
            {
                type = "response.content_part.done", sequence_number = number, item_id = message.Id, output_index = index,
                content_index = 0, part = message.Content[0],
            });
            WriteItemDone(writer, index, message);
        }
        // The calls the client answers in its next request (four events each: a call's output comes with it).
        foreach (var (call, callIndex) in response.Output.Select((item, at) => (item, at)).Where(entry => entry.item is FunctionCallItem))
        {
            var functionCall = (FunctionCallItem)call;
            Write(writer, "response.output_item.added", number => new
            {
                type = "response.output_item.added", sequence_number = number, output_index = callIndex,
                item = functionCall with { Arguments = "", Status = ResponseObjects.InProgress },
            });
            Write(writer, "response.function_call_arguments.delta", number => new
            {
                type = "response.function_call_arguments.delta", sequence_number = number, item_id = functionCall.Id, output_index = callIndex, delta = functionCall.Arguments,
            });
            Write(writer, "response.function_call_arguments.done", number => new
            {
                type = "response.function_call_arguments.done", sequence_number = number, item_id = functionCall.Id, output_index = callIndex, arguments = functionCall.Arguments,
            });
            WriteItemDone(writer, callIndex, functionCall);
        }
        var last = response.Status switch
        {
            ResponseObjects.Completed => "response.completed",
            ResponseObjects.Failed => "response.failed",
            // A cancelled response ends as one cut short: the Responses API streams no event of its own for it.
            _ => "response.incomplete",
        };
        Write(writer, last, number => new { type = last, sequence_number = number, response });
        _ended = true;
    }

    private void WriteAddedAndDone(ChatEventStream.EventWriter writer, int index, object item)
    {
        Write(writer, "response.output_item.added", number => new { type = "response.output_item.added", sequence_number = number, output_index = index, item });
        WriteItemDone(writer, index, item);
    }

    private void WriteItemDone(ChatEventStream.EventWriter writer, int index, object item) =>
        Write(writer, "response.output_item.done", number => new { type = "response.output_item.done", sequence_number = number, output_index = index, item });

    // The Responses API has no event for a reply that starts again: the client reads it anew.
    private void WriteRestarted(ChatEventStream.EventWriter writer) => WriteError(writer, "response_restarted",
        $"Another server took this response over and started its reply again; read it anew with GET /v1/responses/{head.Id}?stream=true.");

    // Always sent, whatever the client had: it ends this stream, and is no point of the reply to resume from.
    private void WriteError(ChatEventStream.EventWriter writer, string code, string message)
    {
        var number = Math.Max(_others + _offset, _last + 1);
        writer.Write("error", new { type = "error", sequence_number = number, code, message, param = (string?)null }, id: null);
        _last = number;
        _ended = true;
    }

    // An event that is not a text delta: numbered, and written if the client had not had it.
    private void Write<T>(ChatEventStream.EventWriter writer, string name, Func<long, T> data)
    {
        var number = _others++ + _offset;
        if (number > _startingAfter)
        {
            writer.Write(name, data(number), id: number.ToString(CultureInfo.InvariantCulture));
            _last = number;
        }
    }
}
