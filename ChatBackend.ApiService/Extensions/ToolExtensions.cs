using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using ChatBackend.ApiService.Tools;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Extensions;

public static class ToolExtensions
{
    /// <summary>
    /// Tools the server runs (section Tools, validated at start): the MCP servers with their two HttpClients (the
    /// requested servers' one connects to public addresses only), the calls' record and runner.
    /// </summary>
    public static IHostApplicationBuilder AddTools(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ToolOptions>()
            .BindConfiguration(ToolOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ToolOptions>, ToolOptionsValidation>();
        // No resilience handler: a tool call is not repeated by the transport (it may not be safe to run twice).
        builder.Services.AddHttpClient(McpServers.ConfiguredClient);
        builder.Services.AddHttpClient(McpServers.RequestedClient)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { ConnectCallback = (context, cancellation) => ServerAddressGuard.ConnectPublicAsync(context, cancellation) });
        builder.Services.AddSingleton<McpServers>();
        builder.Services.AddSingleton<ToolCallStore>();
        builder.Services.AddSingleton<McpCallRunner>();
        return builder;
    }

    // Says every broken rule of the section at start, not only that it is not valid.
    private sealed class ToolOptionsValidation : IValidateOptions<ToolOptions>
    {
        public ValidateOptionsResult Validate(string? name, ToolOptions options) =>
            options.Validate().ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
