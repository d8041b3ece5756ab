using System.Diagnostics;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// Runs <c>ChatBackend.AppHost --publisher P --output-path O</c> as its own process from the AppHost's build output,
/// as a deployer does, with secrets configured as a developer's AppHost has them: none may reach the output.
/// </summary>
public static class AppHostPublisher
{
    public const string Password = "Xq7-not-a-real-password-41";
    public const string ModelKey = "sk-model-key-that-must-not-leak";

    public static readonly string[] Secrets = [Password, ModelKey];

    public static async Task PublishAsync(string publisher, string outputPath, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetTempPath(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { new Projects.ChatBackend_AppHost().TargetPath, "--publisher", publisher, "--output-path", outputPath })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["Parameters__mysql-password"] = Password;
        start.Environment["ConnectionStrings__openai"] = $"Endpoint=https://example.invalid/v1;Key={ModelKey};Model=gpt-4o-mini";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains($"Published {publisher} to:", output);
    }

    /// <summary>Every file under <paramref name="directory"/>, by relative path, with its bytes.</summary>
    public static SortedDictionary<string, byte[]> Files(string directory) => new(
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(file => Path.GetRelativePath(directory, file), File.ReadAllBytes),
        StringComparer.Ordinal);
}
