using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Extensions;

public static class ApplicationServiceExtensions
{
    /// <summary>The API's own services: the database, the chat options and turn, the model, errors and OpenAPI.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddMySqlDataSource(ChatDatabase.ConnectionName, ChatDatabase.ApplyConnectionDefaults);
        builder.Services.AddSingleton<TurnStore>();
        builder.Services.AddSingleton<ReplyProgressStore>();
        builder.Services.AddSingleton(services => new StaleRowsPurge(
            services.GetRequiredService<MySqlConnector.MySqlDataSource>(),
            services.GetRequiredService<ResponseQueries>(),
            services.GetRequiredService<ILogger<StaleRowsPurge>>(),
            services.GetRequiredService<IOptions<ChatTurnOptions>>().Value.PendingSweepSilence));
        builder.Services.AddHostedService(services => services.GetRequiredService<StaleRowsPurge>());
        builder.Services.AddSingleton<ConversationQueries>();
        builder.Services.AddSingleton<ResponseQueries>();
        builder.Services.AddSingleton<ConversationItems>();
        builder.Services.AddSingleton<IStoredTurnSettings, StoredResponseSettings>();
        builder.Services.AddSingleton<TemporaryResponses>();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddOptions<ChatTurnOptions>()
            .BindConfiguration(ChatTurnOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ChatTurnService>();
        builder.Services.AddSingleton<ReplyGenerator>();
        builder.Services.AddSingleton<RunningTurns>();
        builder.Services.AddSingleton<ProgressWriter>();
        builder.Services.AddHostedService<TurnsLifetime>();
        builder.Services.AddSingleton<ReplyFollower>();
        builder.Services.AddSingleton<ConversationTitler>();
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(ChatTurnService.ActivitySource.Name));

        builder.Services.AddSingleton<PromptBuilder>();
        builder.AddChatModel();
        builder.AddTools();
        builder.AddUserAuthentication();
        builder.AddTurnLimits();

        // Text in any script reads as itself in responses (they are JSON, never embedded in HTML).
        builder.Services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
        // Bodies are bounded by Chat:MaxRequestBytes (Kestrel's own limit is 30 MB), a larger one is a 413. Request
        // targets and headers are bounded by RequestLimits with problem details; Kestrel, which answers bare, stops
        // only what is past twice those.
        builder.Services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>()
            .Configure<IOptions<ChatTurnOptions>>((kestrel, chat) =>
            {
                kestrel.Limits.MaxRequestBodySize = chat.Value.MaxRequestBytes;
                kestrel.Limits.MaxRequestLineSize = 2 * chat.Value.MaxRequestTargetBytes;
                kestrel.Limits.MaxRequestHeadersTotalSize = 2 * chat.Value.MaxRequestHeadersBytes;
            });
        // Browser clients from Cors:AllowedOrigins only (none by default), preflight included.
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
            .WithOrigins(builder.Configuration.GetSection("Cors:AllowedOrigins").Get<string[]>() ?? [])
            .AllowAnyHeader()
            .AllowAnyMethod()
            .WithExposedHeaders("Retry-After")));
        // Under /v1 errors take OpenAI's shape: that writer before the framework's.
        builder.Services.AddSingleton<IProblemDetailsWriter, OpenAIErrorWriter>();
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = Problems.Customize);
        // After the framework's writer, for the requests it declines (they accept no JSON).
        builder.Services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        builder.Services.AddOpenApi(options =>
        {
            options
                .AddOperationTransformer(QueryStringFieldsMetadata.AddQueryParameters)
                .AddOperationTransformer(IdempotencyKeyMetadata.AddHeaderParameter)
                .AddDocumentTransformer(HealthEndpointsDocument.Add);
            if (builder.Configuration.HasBearerScheme())
            {
                options.AddDocumentTransformer(BearerSchemeDocument.AddScheme).AddOperationTransformer(BearerSchemeDocument.MarkOperation);
            }
        });
        return builder;
    }
}
