using System.Diagnostics;
using ChatBackend.ApiService.Extensions;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ChatBackend.Tests;

/// <summary>Microsoft.Extensions.AI's gen_ai spans and metrics, exported by the API's OpenTelemetry.</summary>
[Collection(DatabaseCollection.Name)]
public sealed class GenAiTelemetryTests(DatabaseFixture database) : FakeModelTest(database, "genai")
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AModelCallIsAChatSpanTaggedWithTheConversationWithGenAiMetricsAndContentOnlyWhenAskedFor(bool captureContent)
    {
        var spans = new List<Activity>();
        var exported = new List<Metric>();
        var api = StartApiFactory(
            new() { ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = captureContent ? "true" : "false" },
            services => services.AddOpenTelemetry()
                .WithTracing(tracing => tracing.AddInMemoryExporter(spans))
                .WithMetrics(meters => meters.AddInMemoryExporter(exported)));
        var secret = $"private words {Guid.NewGuid():n}";
        string conversationId;
        using (var client = api.CreateHttpClient())
        {
            conversationId = (await client.SendOkAsync(secret, Chat.NewUserId())).Str("conversation_id");
        }
        Assert.True(api.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));
        var metrics = exported.ToList();
        Assert.True(api.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));

        // Listeners are process-wide: the span of this test is the one that carries its conversation id.
        var chat = Assert.Single(spans.ToList(), span =>
            span.Source.Name == ChatModelExtensions.AiTelemetryName
            && (span.GetTagItem("gen_ai.conversation.id") as string) == conversationId);
        Assert.Equal("chat gpt-4o-mini", chat.DisplayName);
        Assert.Equal(FakeOpenAIServer.PromptTokens, Convert.ToInt32(chat.GetTagItem("gen_ai.usage.input_tokens"), System.Globalization.CultureInfo.InvariantCulture));
        var recordsContent = chat.TagObjects.Any(tag => tag.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true)
            || chat.Events.Any(e => e.Tags.Any(tag => tag.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true));
        Assert.Equal(captureContent, recordsContent);
        Assert.Contains(metrics, metric => metric.Name == "gen_ai.client.operation.duration");
        Assert.Contains(metrics, metric => metric.Name == "gen_ai.client.token.usage");
    }
}
