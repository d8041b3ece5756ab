using System.Diagnostics;
using ChatBackend.ApiService.Extensions;
using ChatBackend.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ChatBackend.Tests.Api;

/// <summary>Microsoft.Extensions.AI's gen_ai spans and metrics, exported by the API's OpenTelemetry.</summary>
[Trait("Category", "Api")]
public sealed class GenAiTelemetryTests(FakeModelFixture fixture) : FakeModelTest(fixture), IClassFixture<FakeModelFixture>
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
            conversationId = (await client.SendOkAsync(secret, ChatCalls.NewUserId())).Str("conversation_id");
        }
        Assert.True(api.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));
        var metrics = exported.ToList();
        var chat = ChatSpanOf(api, spans, conversationId);
        var recordsContent = chat.TagObjects.Any(tag => tag.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true)
            || chat.Events.Any(e => e.Tags.Any(tag => tag.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true));
        Assert.Equal(captureContent, recordsContent);
        Assert.Contains(metrics, metric => metric.Name == "gen_ai.client.operation.duration");
        Assert.Contains(metrics, metric => metric.Name == "gen_ai.client.token.usage");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AStreamedReplysChatSpanDescribesTheWholeReplyThoughItsUpdatesArePassedOnWithoutTheSdksObjects(bool captureContent)
    {
        var spans = new List<Activity>();
        var api = StartApiFactory(
            new() { ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = captureContent ? "true" : "false" },
            services => services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(spans)));
        Fake.Enqueue(FakeReply.Say("Streamed ", "in ", "three pieces"));
        string? conversationId = null;
        using (var client = api.CreateHttpClient())
        {
            using var response = await client.PostAsync($"/chat-message/stream?message=hi&user_id={ChatCalls.NewUserId()}", content: null, TestContext.Current.CancellationToken);
            await foreach (var item in ServerSentEvents.ReadEventsAsync(response, cancellationToken: TestContext.Current.CancellationToken))
            {
                conversationId ??= item.Data.Str("conversation_id");
                Assert.NotEqual("error", item.Name);
            }
        }
        var chat = ChatSpanOf(api, spans, conversationId);
        Assert.Equal(FakeOpenAIServer.CompletionTokens, Convert.ToInt32(chat.GetTagItem("gen_ai.usage.output_tokens"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("gpt-4o-mini", chat.GetTagItem("gen_ai.response.model"));
        Assert.Equal("chatcmpl-fake", chat.GetTagItem("gen_ai.response.id"));
        Assert.Equal("[\"stop\"]", chat.GetTagItem("gen_ai.response.finish_reasons"));
        if (captureContent)
        {
            Assert.Contains("Streamed in three pieces", chat.GetTagItem("gen_ai.output.messages") as string ?? "");
        }
        else
        {
            Assert.Null(chat.GetTagItem("gen_ai.output.messages"));
        }
    }

    [Fact]
    public async Task TheModelPipelinePassesStreamedUpdatesOnWithoutTheProvidersOwnObjectsAndLetsGoOfEachPiecesTextOnceRead()
    {
        var api = StartApiFactory();
        Fake.Enqueue(FakeReply.Say("Only ", "the text ", "stays"));
        var chatClient = api.Services.GetRequiredService<IChatClient>();

        var updates = new List<ChatResponseUpdate>();
        var text = new System.Text.StringBuilder();
        await foreach (var update in chatClient.GetStreamingResponseAsync("hi", cancellationToken: TestContext.Current.CancellationToken))
        {
            updates.Add(update);
            text.Append(update.Text);
        }

        Assert.Equal("Only the text stays", text.ToString());
        // Kept to the stream's end by the OpenTelemetry client, which records no content here: no piece's text stays,
        // and the pieces that carried only text were one object, handed on again for each.
        Assert.All(updates, update => Assert.Empty(update.Contents.OfType<TextContent>()));
        var textPieces = updates.Where(update => update.FinishReason is null && update.Contents.Count == 0).ToList();
        Assert.True(textPieces.Count >= 3, $"{textPieces.Count} text-only pieces");
        Assert.Single(textPieces.Distinct());
        Assert.All(updates, update => Assert.Null(update.RawRepresentation));
        Assert.All(updates.SelectMany(update => update.Contents), content => Assert.Null(content.RawRepresentation));
        Assert.Contains(updates, update => update.FinishReason == ChatFinishReason.Stop);
        Assert.Contains(updates, update => update.Contents.OfType<UsageContent>().Any(usage => usage.Details.OutputTokenCount == FakeOpenAIServer.CompletionTokens));
    }

    // Listeners are process-wide: the span of a test is the one that carries its conversation id.
    private static Activity ChatSpanOf(ApiFactory api, List<Activity> spans, string? conversationId)
    {
        Assert.True(api.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        var chat = Assert.Single(spans.ToList(), span =>
            span.Source.Name == ChatModelExtensions.AiTelemetryName
            && (span.GetTagItem("gen_ai.conversation.id") as string) == conversationId);
        Assert.Equal("chat gpt-4o-mini", chat.DisplayName);
        Assert.Equal(FakeOpenAIServer.PromptTokens, Convert.ToInt32(chat.GetTagItem("gen_ai.usage.input_tokens"), System.Globalization.CultureInfo.InvariantCulture));
        return chat;
    }
}
