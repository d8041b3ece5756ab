using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>Where the AppHost keeps what outlives a run: MySQL's data volume, the dashboard's telemetry.</summary>
public static class AppHostData
{
    /// <summary>AppHost:DataDirectory, else ChatBackend/AppHost under the user's local application data.</summary>
    public static string Root(IConfiguration configuration) =>
        configuration["AppHost:DataDirectory"] is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
                "ChatBackend", "AppHost");
}
