using Microsoft.Extensions.Configuration;

namespace ChatBackend.AppHost;

/// <summary>
/// The API's bearer scheme from the AppHost's own configuration (user secrets, environment, appsettings):
/// every setting under Authentication:Schemes:Bearer reaches the API as a parameter of its own, so that a run passes
/// its value and a deployment (the manifest, Compose, Kubernetes) asks for it instead of inlining it. Signing key
/// values are secrets.
/// </summary>
public static class BearerSchemeExtensions
{
    private const string Section = "Authentication:Schemes:Bearer";

    public static IResourceBuilder<ProjectResource> WithBearerScheme(this IResourceBuilder<ProjectResource> api)
    {
        var builder = api.ApplicationBuilder;
        var settings = builder.Configuration.GetSection(Section).AsEnumerable(makePathsRelative: true)
            .Where(setting => setting.Value is not null)
            .OrderBy(setting => setting.Key, StringComparer.Ordinal);
        foreach (var (key, value) in settings)
        {
            // Authority → bearer-authority; SigningKeys:0:Value → bearer-signingkeys-0-value (a secret).
            var name = "bearer-" + key.Replace(':', '-').ToLowerInvariant();
            var secret = key.EndsWith(":Value", StringComparison.OrdinalIgnoreCase);
            var parameter = builder.AddParameter(name, value!, publishValueAsDefault: false, secret: secret);
            api.WithEnvironment($"{Section.Replace(":", "__")}__{key.Replace(":", "__")}", parameter);
        }
        return api;
    }
}
