using Microsoft.Extensions.Configuration;

namespace ChatBackend.AppHost;

/// <summary>
/// API settings from the AppHost's own configuration (user secrets, environment, appsettings): every setting of a
/// section reaches the API as a parameter of its own, so that a run passes its value and a deployment (the manifest,
/// Compose, Kubernetes) asks for it instead of inlining it.
/// </summary>
public static class ConfigurationParameterExtensions
{
    /// <summary>The bearer scheme (Authentication:Schemes:Bearer); signing key values are secrets.</summary>
    public static IResourceBuilder<ProjectResource> WithBearerScheme(this IResourceBuilder<ProjectResource> api) =>
        api.WithSection("Authentication:Schemes:Bearer", "bearer", key => key.EndsWith(":Value", StringComparison.OrdinalIgnoreCase));

    /// <summary>The models a /v1/responses request may name (Chat:Models), where the AppHost's configuration lists them.</summary>
    public static IResourceBuilder<ProjectResource> WithChatModels(this IResourceBuilder<ProjectResource> api) =>
        api.WithSection("Chat:Models", "chat-models", _ => false);

    /// <summary>The tools the API runs (Tools: MCP servers, their bounds); header values are secrets.</summary>
    public static IResourceBuilder<ProjectResource> WithTools(this IResourceBuilder<ProjectResource> api) =>
        api.WithSection("Tools", "tools", key => key.Contains(":Headers:", StringComparison.OrdinalIgnoreCase));

    private static IResourceBuilder<ProjectResource> WithSection(
        this IResourceBuilder<ProjectResource> api, string section, string prefix, Func<string, bool> isSecret)
    {
        var builder = api.ApplicationBuilder;
        var settings = builder.Configuration.GetSection(section).AsEnumerable(makePathsRelative: true)
            .Where(setting => setting.Value is not null)
            .OrderBy(setting => setting.Key, StringComparer.Ordinal);
        foreach (var (key, value) in settings)
        {
            // Bearer's Authority → bearer-authority; SigningKeys:0:Value → bearer-signingkeys-0-value (a secret).
            var name = $"{prefix}-{key.Replace(':', '-').ToLowerInvariant()}";
            var parameter = builder.AddParameter(name, value!, publishValueAsDefault: false, secret: isSecret(key));
            api.WithEnvironment($"{section.Replace(":", "__")}__{key.Replace(":", "__")}", parameter);
        }
        return api;
    }
}
