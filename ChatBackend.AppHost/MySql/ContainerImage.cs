using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ChatBackend.AppHost.MySql;

/// <summary>
/// The server's image, had before anything starts: a runtime that answers but cannot get the image (no registry, a
/// wrong name) would otherwise leave the run waiting for MySQL with nothing printed, the runtime's error only in the
/// resource's log. Looked up locally, pulled if missing (bounded by <c>AppHost:ImagePullTimeout</c>, 5 min by
/// default), else the AppHost stops with one message that names the image and the ways out.
/// </summary>
internal static class ContainerImage
{
    public const string PullTimeoutSetting = "AppHost:ImagePullTimeout";

    public static readonly TimeSpan DefaultPullTimeout = TimeSpan.FromMinutes(5);

    public static async Task EnsureAsync(string runtime, string image, TimeSpan pullTimeout, ILogger logger, CancellationToken cancellationToken)
    {
        if ((await RunAsync(runtime, ["image", "inspect", "--format", "{{.Id}}", image], TimeSpan.FromSeconds(30), cancellationToken)).ExitCode == 0)
        {
            return;
        }
        logger.LogInformation("Pulling {Image} (not among {Runtime}'s images).", image, Path.GetFileName(runtime));
        var pull = await RunAsync(runtime, ["pull", image], pullTimeout, cancellationToken);
        if (pull.ExitCode == 0)
        {
            return;
        }
        throw new DistributedApplicationException(Message(Path.GetFileName(runtime), image, pull.ExitCode is null
            ? $"could not be pulled within {pullTimeout.TotalSeconds:0} s"
            : $"could not be pulled ({pull.Error})"));
    }

    public static string Message(string runtime, string image, string why) =>
        $"MySQL cannot start: the image {image} is not among {runtime}'s images and {why}. " +
        $"Pull it ({runtime} pull {image}), name an image {runtime} has ({MySqlContainerImageTags.ImageSetting}, e.g. " +
        $"--{MySqlContainerImageTags.ImageSetting}=IMAGE or AppHost__MySqlImage=IMAGE; any image with the official mysql image's contract), " +
        "or run without containers: a local server (--AppHost:ContainerRuntime=none, with mariadb-server installed) " +
        "or an existing one (ConnectionStrings:chatdb).";

    // The exit code (null when it did not end in time) and the last line of its errors.
    private static async Task<(int? ExitCode, string Error)> RunAsync(string runtime, string[] arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(runtime) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            return (null, "");
        }
        await output;
        var lines = (await errors).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (process.ExitCode, lines.LastOrDefault() ?? "");
    }
}
