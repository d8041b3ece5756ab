using System.Diagnostics;

namespace ChatBackend.Tests.Deployment;

/// <summary>
/// What ./deploy-test.sh hands the deployment tests (Category=Deployment): its private Docker engine, the Compose
/// deployment it brought up with docs/deploy.md's steps, the local MySQL-contract image. Without them a test fails
/// and says how to run it: these tests never pass without having run.
/// </summary>
internal static class DeploymentEnvironment
{
    public static string DockerHost => Required("DEPLOY_TEST_DOCKER_HOST");

    public static string ComposeDirectory => Required("DEPLOY_TEST_COMPOSE_DIR");

    public static Uri ApiUrl => new(Required("DEPLOY_TEST_API_URL"));

    public static string MySqlImage => Required("DEPLOY_TEST_MYSQL_IMAGE");

    /// <summary>Fails unless docker and docker-compose talk to the script's own engine, never to another Docker.</summary>
    public static void AssertPrivateEngine() =>
        Assert.True(Environment.GetEnvironmentVariable("DOCKER_HOST") == DockerHost,
            $"DOCKER_HOST must be the deployment test's own engine ({DockerHost}); run ./deploy-test.sh.");

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: the deployment tests run through ./deploy-test.sh, which starts the container engine they use.");

    /// <summary>Runs a program to its end (within <paramref name="timeout"/>, 2 min by default): its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> arguments,
        string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(timeout ?? TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not end within {timeout ?? TimeSpan.FromMinutes(2)}.");
        }
        return (process.ExitCode, (await output + await errors).Trim());
    }

    /// <summary>A docker command that must succeed: its output.</summary>
    public static async Task<string> DockerAsync(params string[] arguments)
    {
        var (exitCode, output) = await RunAsync("docker", arguments);
        Assert.True(exitCode == 0, $"docker {string.Join(' ', arguments)} exited with {exitCode}: {output}");
        return output;
    }

    /// <summary>The lines of a docker command's output.</summary>
    public static async Task<List<string>> DockerLinesAsync(params string[] arguments) =>
        [.. (await DockerAsync(arguments)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
