using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using Azure.Identity;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenTelemetry.Trace;
using Polly;

namespace ChatBackend.ApiService.Extensions;

public static partial class ChatModelExtensions
{
    /// <summary>The HTTP client that carries every request to the model provider.</summary>
    public const string HttpClientName = "model";

    /// <summary>The ActivitySource and Meter of Microsoft.Extensions.AI's OpenTelemetry client.</summary>
    public const string AiTelemetryName = "Experimental.Microsoft.Extensions.AI";

    /// <summary>
    /// The model behind one IChatClient pipeline (SPEC §5): Azure OpenAI, any OpenAI-protocol server, OpenAI with the
    /// original's OPENAI_API_KEY, or the offline responder; with gen_ai spans and metrics, and retries of the
    /// provider's 429 and 5xx answers.
    /// </summary>
    public static IHostApplicationBuilder AddChatModel(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IConfigureOptions<ModelOptions>, ModelOptions.Setup>();
        builder.Services.AddSingleton<IValidateOptions<ModelOptions>, ModelOptions.Validator>();
        builder.Services.AddOptions<ModelOptions>().ValidateOnStart();

        // Retries live here, in the HTTP client, rather than in the SDKs (theirs are switched off below, or the two
        // would multiply): exponential, jittered, honouring Retry-After. The turn's Chat:Timeout bounds them all, so
        // the client itself has no timeout, and the service defaults' standard handler (10 s per attempt, which
        // would cut long replies) is replaced.
        // RemoveAllResilienceHandlers is marked for evaluation; it is the documented way to replace the handler
        // that ConfigureHttpClientDefaults gives every client.
#pragma warning disable EXTEXP0001
        var modelHttp = builder.Services.AddHttpClient(HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        modelHttp.AddResilienceHandler("model-retries", (pipeline, context) =>
            {
                var chat = context.ServiceProvider.GetRequiredService<IOptions<ChatTurnOptions>>().Value;
                if (chat.MaxRetries > 0)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = chat.MaxRetries,
                        Delay = chat.RetryDelay,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        ShouldRetryAfterHeader = true,
                        // A Retry-After longer than a whole turn may take cannot be honoured: fail now, not at the timeout.
                        ShouldHandle = arguments => ValueTask.FromResult(
                            HttpClientResiliencePredicates.IsTransient(arguments.Outcome)
                            && !(arguments.Outcome.Result?.Headers.RetryAfter?.Delta > chat.Timeout)),
                    });
                }
            });
        // Inside the retries, so that it sees each attempt.
        modelHttp.AddHttpMessageHandler(() => new ProviderAttemptsHandler());

        var captureContent = builder.Configuration.GetValue<bool>("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
        builder.Services.AddChatClient(CreateProviderClient)
            .UseOpenTelemetry(configure: telemetry => telemetry.EnableSensitiveData = captureContent)
            .Use(provider => new LeanStreamingChatClient(provider, keepText: captureContent));
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(AiTelemetryName).AddProcessor(new ConversationIdEnricher()))
            .WithMetrics(metrics => metrics.AddMeter(AiTelemetryName));
        builder.Services.AddHostedService<ModelStartupReport>();
        return builder;
    }

    private static IChatClient CreateProviderClient(IServiceProvider services)
    {
        var connection = services.GetRequiredService<IOptions<ModelOptions>>().Value.Connection;
        if (connection.Provider == ModelProvider.Offline)
        {
            return new OfflineChatClient();
        }

        // No network timeout in the SDK: Chat:Timeout (and Chat:AutoTitleTimeout for titles) bounds every call through
        // its cancellation token already, and the SDK's would wrap a stream in one that resets a timer on each read:
        // 40,000 resets a second at 2,000 streams, all on the runtime's shared timer queues.
        var networkTimeout = Timeout.InfiniteTimeSpan;
        var transport = new HttpClientPipelineTransport(
            services.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName));
        var noRetries = new ClientRetryPolicy(maxRetries: 0);

        if (connection.Provider == ModelProvider.AzureOpenAI)
        {
            var azureOptions = new AzureOpenAIClientOptions { Transport = transport, RetryPolicy = noRetries, NetworkTimeout = networkTimeout };
            var azure = connection.Key is { } azureKey
                ? new AzureOpenAIClient(connection.Endpoint!, new ApiKeyCredential(azureKey), azureOptions)
                : new AzureOpenAIClient(connection.Endpoint!, new DefaultAzureCredential(), azureOptions);
            return azure.GetChatClient(connection.Model).AsIChatClient();
        }

        var options = new OpenAIClientOptions { Transport = transport, RetryPolicy = noRetries, NetworkTimeout = networkTimeout };
        if (connection.Endpoint is not null)
        {
            options.Endpoint = connection.Endpoint;
        }
        // Local servers (Ollama, vLLM, LM Studio) need no key, but the SDK wants one.
        var client = new OpenAIClient(new ApiKeyCredential(connection.Key ?? "no-key"), options);
        return client.GetChatClient(connection.Model).AsIChatClient();
    }
}
