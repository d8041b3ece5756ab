using System.Diagnostics;
using System.Text.Json;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Tools;
using Microsoft.Extensions.AI;

namespace ChatBackend.ApiService.Chat;

/// <summary>
/// Runs the MCP calls of a turn's tool round, one after another: each recorded before it runs (awaited: an instance
/// that takes the turn over never runs it again) and when it ends (not awaited here: the round goes on to the model
/// meanwhile, and the turn awaits its <see cref="Writes"/> before it stores its end), under an <c>execute_tool</c> span
/// of the turn's span (the GenAI conventions' names; arguments and outputs only with content capture on).
/// </summary>
public sealed class McpCallRunner(ToolCallStore store, IConfiguration configuration)
{
    private readonly bool _captureContent = configuration.GetValue<bool>("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");

    /// <summary>
    /// The round's calls as they ended, numbered from <paramref name="firstCallNo"/> within the turn, each told to the
    /// run's followers as it starts and ends, at <paramref name="textOffset"/> of the reply's text; those the user
    /// <paramref name="refused"/> (call ids) are recorded as refused, not run.
    /// </summary>
    public async Task<List<ToolCall>> RunAsync(
        TurnRun run, McpToolset tools, int round, int firstCallNo, int textOffset, IReadOnlyList<FunctionCallContent> calls,
        Writes writes, CancellationToken cancellationToken, IReadOnlySet<string>? refused = null)
    {
        var turn = run.Turn;
        var ended = new List<ToolCall>(calls.Count);
        foreach (var call in calls)
        {
            var label = tools.ServerOf(call.Name)!.Label;
            var made = ToolCall.From(call) with { Type = ToolCall.McpCall, ServerLabel = label, TextOffset = textOffset };
            var arguments = made.Arguments!;
            var callNo = firstCallNo + ended.Count;
            using (var recording = new DatabaseCancellation(cancellationToken))
            {
                await store.StartAsync(
                    turn, new RecordedCall(turn.Attempt, callNo, round, call.CallId, label, call.Name, arguments, null, null, "started"),
                    recording.Token);
            }
            run.Add(ToolEvent.Started(made));
            McpCallResult result;
            using (var activity = ChatTurnService.ActivitySource.StartActivity($"execute_tool {call.Name}"))
            {
                activity?.SetTag("gen_ai.operation.name", "execute_tool");
                activity?.SetTag("gen_ai.tool.name", call.Name);
                activity?.SetTag("gen_ai.tool.call.id", call.CallId);
                activity?.SetTag("gen_ai.tool.type", "extension");
                activity?.SetTag("chatbackend.mcp.server", label);
                if (_captureContent)
                {
                    activity?.SetTag("gen_ai.tool.call.arguments", arguments);
                }
                result = refused?.Contains(call.CallId) == true
                    ? new McpCallResult(null, ToolCall.Refused)
                    : await tools.CallAsync(call.Name, call.Arguments, cancellationToken);
                if (result.Error is not null)
                {
                    activity?.SetTag("error.type", "tool_error");
                    activity?.SetStatus(ActivityStatusCode.Error, "The tool call failed.");
                }
                else if (_captureContent)
                {
                    activity?.SetTag("gen_ai.tool.call.result", result.Output);
                }
            }
            writes.Add(store.EndAsync(turn, callNo, result.Output, result.Error, CancellationToken.None));
            var done = made with { Output = result.Output, Error = result.Error };
            run.Add(ToolEvent.Done(done));
            ended.Add(done);
        }
        return ended;
    }

    /// <summary>
    /// The end records of a turn's calls still being written. One that fails leaves its call recorded as started: an
    /// instance that took the turn over would report it failed rather than run it again.
    /// </summary>
    public sealed class Writes
    {
        private readonly List<Task> _pending = [];

        public void Add(Task write) => _pending.Add(write);

        /// <summary>Waits for every write; their failures are not the turn's.</summary>
        public Task AllAsync() => Task.WhenAll(_pending).ContinueWith(
            static all => _ = all.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// The calls a taken-over turn's earlier attempts made, with their rounds: reused as they ended, never run again (a
    /// call found started is reported as failed), before the new attempt's text.
    /// </summary>
    public async Task<List<(int Round, ToolCall Call)>> EarlierAsync(StartedTurn turn, CancellationToken cancellationToken)
    {
        using var reading = new DatabaseCancellation(cancellationToken);
        return [.. (await store.EarlierAsync(turn, reading.Token)).Select(call => (call.Round,
            new ToolCall(call.CallId, call.Name, call.Arguments, call.Output, ToolCall.McpCall, call.ServerLabel, call.Error, TextOffset: 0)))];
    }

    /// <summary>
    /// A call the model made that waits for the user's approval (an <c>mcp_approval_request</c> of the reply), at
    /// <paramref name="textOffset"/> of the reply's text.
    /// </summary>
    public static ToolCall ApprovalRequest(McpToolset tools, FunctionCallContent call, int textOffset) =>
        ToolCall.From(call) with { Type = ToolCall.McpApprovalRequest, ServerLabel = tools.ServerOf(call.Name)!.Label, TextOffset = textOffset };

    /// <summary>A server's tools as the turn offered them (an <c>mcp_list_tools</c> entry of the reply, before its text).</summary>
    public static ToolCall Listed(McpServerTools server) => new(
        $"mcpl_{server.Label}", Type: ToolCall.McpListTools, ServerLabel: server.Label, TextOffset: 0,
        Tools: JsonSerializer.SerializeToElement(server.Tools.Select(tool => new Dictionary<string, object?>
        {
            ["name"] = tool.Name,
            ["description"] = tool.Description,
            ["input_schema"] = tool.JsonSchema,
        })));
}
