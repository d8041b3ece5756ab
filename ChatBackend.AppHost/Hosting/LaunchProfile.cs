using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>
/// A project's launch profile (Properties/launchSettings.json), the one Aspire picks: AppHost:DefaultLaunchProfileName
/// (or DOTNET_LAUNCH_PROFILE), else the first. Its URLs are the project's endpoints; its variables, defaults.
/// </summary>
public sealed record LaunchProfile(string Name, IReadOnlyList<Uri> ApplicationUrls, IReadOnlyDictionary<string, string?> EnvironmentVariables)
{
    /// <summary>The profile's http URL, the project's http endpoint; none for a worker.</summary>
    public Uri? HttpUrl => ApplicationUrls.FirstOrDefault(url => url.Scheme == Uri.UriSchemeHttp);

    public static LaunchProfile? For(ProjectResource project, IConfiguration configuration)
    {
        var file = Path.Combine(Path.GetDirectoryName(project.Metadata.ProjectPath)!, "Properties", "launchSettings.json");
        if (!File.Exists(file))
        {
            return null;
        }
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        if (!document.RootElement.TryGetProperty("profiles", out var profiles))
        {
            return null;
        }
        var wanted = configuration["AppHost:DefaultLaunchProfileName"] ?? configuration["DOTNET_LAUNCH_PROFILE"];
        var chosen = profiles.EnumerateObject().FirstOrDefault(profile => wanted is null || profile.Name == wanted);
        if (chosen.Value.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var urls = chosen.Value.TryGetProperty("applicationUrl", out var applicationUrl) && applicationUrl.GetString() is { } text
            ? text.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(url => new Uri(url)).ToList()
            : [];
        var variables = chosen.Value.TryGetProperty("environmentVariables", out var environment)
            ? environment.EnumerateObject().ToDictionary(variable => variable.Name, variable => variable.Value.GetString())
            : [];
        return new LaunchProfile(chosen.Name, urls, variables);
    }
}
