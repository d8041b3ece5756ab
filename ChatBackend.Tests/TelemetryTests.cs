using System.Diagnostics;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ChatBackend.Tests;

[Collection(DatabaseCollection.Name)]
public sealed class TelemetryTests(DatabaseFixture database)
{
    [Fact]
    public async Task ASendIsTracedThroughHttpTheChatTurnAndMySqlConnectorAndItsPoolIsMeasured()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        var api = new ApiFactory(
            await database.CreateMigratedDatabaseAsync("telemetry"),
            configureServices: services => services.AddOpenTelemetry()
                .WithTracing(tracing => tracing.AddInMemoryExporter(spans))
                .WithMetrics(meters => meters.AddInMemoryExporter(metrics)));
        using (var client = api.CreateHttpClient())
        {
            await client.SendOkAsync("trace me", Chat.NewUserId());
        }
        await api.DisposeAsync(); // flushes both providers

        var turn = Assert.Single(spans, span => span.DisplayName == "chat turn");
        Assert.NotNull(turn.GetTagItem("gen_ai.conversation.id"));
        Assert.Contains(spans, span => span.Source.Name == "Microsoft.AspNetCore" && span.TraceId == turn.TraceId);
        Assert.Contains(spans, span => span.Source.Name == "MySqlConnector" && span.TraceId == turn.TraceId);
        Assert.Contains(metrics, metric => metric.MeterName == "MySqlConnector");
    }
}
