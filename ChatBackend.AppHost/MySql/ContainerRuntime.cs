using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace ChatBackend.AppHost.MySql;

/// <summary>The container runtime's CLI, when one answers: <c>ASPIRE_CONTAINER_RUNTIME</c>, else docker, else podman.</summary>
internal static class ContainerRuntime
{
    public static string? Find(IConfiguration configuration)
    {
        var configured = configuration["AppHost:ContainerRuntime"] ?? configuration["ASPIRE_CONTAINER_RUNTIME"];
        if (string.Equals(configured, "none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return (configured is null ? ["docker", "podman"] : new[] { configured })
            .Select(runtime => LocalMySqlServer.FindOnPath(runtime))
            .FirstOrDefault(path => path is not null && Answers(path));
    }

    // A CLI without its engine (the docker CLI with no daemon) fails `info`: that is no runtime.
    private static bool Answers(string runtime)
    {
        using var info = Process.Start(new ProcessStartInfo(runtime, "info") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        info.StandardOutput.ReadToEndAsync();
        info.StandardError.ReadToEndAsync();
        if (!info.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            info.Kill(entireProcessTree: true);
            return false;
        }
        return info.ExitCode == 0;
    }
}
