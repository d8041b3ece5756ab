using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.AI;

namespace ChatBackend.ApiService.Extensions;

public static partial class ApplicationServiceExtensions
{
    /// <summary>The API's own services: the database, the chat options and turn, the model, errors and OpenAPI.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddMySqlDataSource("chatdb", ConversationStore.ApplyConnectionDefaults);
        builder.Services.AddSingleton<ConversationStore>();

        builder.Services.AddOptions<Chat.ChatOptions>()
            .BindConfiguration(Chat.ChatOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ChatTurnService>();
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(ChatTurnService.ActivitySource.Name));

        builder.Services.AddChatClient(new OfflineChatClient());
        builder.Services.AddHostedService<ModelStartupReport>();

        // Text in any script reads as itself in responses (they are JSON, never embedded in HTML).
        builder.Services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<DatabaseUnavailableHandler>();
        builder.Services.AddOpenApi(options => options
            .AddOperationTransformer(QueryStringFieldsMetadata.AddQueryParameters)
            .AddDocumentTransformer(HealthEndpointsDocument.Add));
        return builder;
    }

    // Says at start which model answers, so that an unconfigured server is noticed before its first reply.
    private sealed partial class ModelStartupReport(IChatClient chatClient, ILogger<ModelStartupReport> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (chatClient.GetService<OfflineChatClient>() is not null)
            {
                LogOffline();
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Warning,
            Message = "No language model is configured (ConnectionStrings:openai or OPENAI_API_KEY): replies come from the offline responder.")]
        private partial void LogOffline();
    }
}
