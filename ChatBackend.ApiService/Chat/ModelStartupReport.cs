using ChatBackend.ApiService.Model;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

// Says at start which model answers, so that an unconfigured server is noticed before its first reply.
internal sealed partial class ModelStartupReport(
    IOptions<ModelOptions> model, PromptBuilder prompts, ILogger<ModelStartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var connection = model.Value.Connection;
        if (connection.Provider == ModelProvider.Offline)
        {
            LogOffline();
        }
        else
        {
            LogModel(connection.Describe(), prompts.Budget);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No language model is configured (ConnectionStrings:openai or OPENAI_API_KEY): replies come from the offline responder.")]
    private partial void LogOffline();

    [LoggerMessage(Level = LogLevel.Information, Message = "Replies come from {Model}; context budget {Budget} tokens.")]
    private partial void LogModel(string model, int budget);
}
