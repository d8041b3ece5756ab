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

    public const string SigningKey = "c2lnbmluZy1rZXktdGhhdC1tdXN0LW5vdC1sZWFrLTEyMzQ=";

    public static readonly string[] Secrets = [Password, ModelKey, SigningKey];

    /// <summary>A bearer scheme in the AppHost's configuration, as dotnet user-jwts writes one, and the models it allows.</summary>
    public static readonly Dictionary<string, string> BearerSettings = new()
    {
        ["Chat__Models__0"] = "gpt-4o-mini",
        ["Authentication__Schemes__Bearer__ValidIssuer"] = "dotnet-user-jwts",
        ["Authentication__Schemes__Bearer__ValidAudiences__0"] = "https://chat.example",
        ["Authentication__Schemes__Bearer__SigningKeys__0__Issuer"] = "dotnet-user-jwts",
        ["Authentication__Schemes__Bearer__SigningKeys__0__Value"] = SigningKey,
    };

    public static Task<string> PublishAsync(string publisher, string outputPath, params string[] extraArguments) =>
        PublishAsync(publisher, outputPath, new Dictionary<string, string>(), extraArguments);

    /// <summary>As <see cref="PublishAsync(string, string, string[])"/>, with more of the AppHost's configuration.</summary>
    public static async Task<string> PublishAsync(
        string publisher, string outputPath, IReadOnlyDictionary<string, string> environment, params string[] extraArguments)
    {
        var start = AppHostProcess.StartInfo();
        foreach (var argument in new[] { "--publisher", publisher, "--output-path", outputPath }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["Parameters__mysql-password"] = Password;
        start.Environment["ConnectionStrings__openai"] = $"Endpoint=https://example.invalid/v1;Key={ModelKey};Model=gpt-4o-mini";
        foreach (var (name, value) in BearerSettings.Concat(environment))
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var text = await output + await errors;
        Assert.True(process.ExitCode == 0, text);
        return text;
    }

    /// <summary>Every file under <paramref name="directory"/>, by relative path, with its bytes.</summary>
    public static SortedDictionary<string, byte[]> Files(string directory) => new(
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(file => Path.GetRelativePath(directory, file), File.ReadAllBytes),
        StringComparer.Ordinal);
}
