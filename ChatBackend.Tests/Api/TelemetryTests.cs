using System.Diagnostics;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ChatBackend.Tests.Api;

[Trait("Category", "Api")]
public sealed class TelemetryTests(DatabaseFixture database)
{
    [Fact]
    public async Task ASendIsTracedThroughHttpTheChatTurnAndMySqlConnectorAndItsPoolIsMeasured()
    {
        var spans = new List<Activity>();
        var exported = new List<Metric>();
        var api = new ApiFactory(
            await database.CreateMigratedDatabaseAsync("telemetry"),
            configureServices: services => services.AddOpenTelemetry()
                .WithTracing(tracing => tracing.AddInMemoryExporter(spans))
                .WithMetrics(meters => meters.AddInMemoryExporter(exported)));
        string conversationId;
        using (var client = api.CreateHttpClient())
        {
            conversationId = (await client.SendOkAsync("trace me", ChatCalls.NewUserId())).Str("conversation_id");
        }
        // Metrics are read while the API still runs: the in-memory exporter replaces its list at every export, and
        // the last one, at shutdown, may come after the data source (and its meter) is gone.
        Assert.True(api.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));
        var metrics = exported.ToList();
        await api.DisposeAsync(); // flushes the traces

        // Listeners are process-wide: tests running beside this one add their own spans, so ours is found by its id.
        var turn = Assert.Single(spans, span =>
            span.DisplayName == "chat turn" && (span.GetTagItem("gen_ai.conversation.id") as string) == conversationId);
        Assert.Contains(spans, span => span.Source.Name == "Microsoft.AspNetCore" && span.TraceId == turn.TraceId);
        Assert.Contains(spans, span => span.Source.Name == "MySqlConnector" && span.TraceId == turn.TraceId);
        Assert.Contains(metrics, metric => metric.MeterName == "MySqlConnector");
    }
}
