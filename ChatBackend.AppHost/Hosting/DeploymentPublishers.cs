using System.Text;
using YamlDotNet.Serialization;

namespace Aspire.Hosting;

/// <summary>
/// What the Docker Compose and Kubernetes publishers share: the model as services with images, environments and
/// order, where parameters (passwords, the model's connection string) stay references that the target resolves.
/// </summary>
internal static class Deployment
{
    /// <summary>The port a project's container listens on: the ASP.NET images' default, set by HTTP_PORTS.</summary>
    public const int ProjectPort = 8080;

    public static string ImageVariable(IResource resource) => $"{EnvironmentNames.Of(resource.Name)}_IMAGE";

    /// <summary>The image the SDK publishes for a project (its ContainerRepository), the default of its image variable.</summary>
    public static string DefaultImage(ProjectResource project) => $"chatbackend-{project.Name}:latest";

    public static string PasswordParameter(MySqlServerResource server) => $"{server.Name}-password";

    /// <summary>
    /// A project's environment in a deployment: Aspire's publish-mode variables, and its references resolved to
    /// service names, with each parameter written by <paramref name="parameter"/> (${X} for Compose, $(X) for Kubernetes).
    /// </summary>
    public static List<KeyValuePair<string, string>> ProjectEnvironment(ProjectResource project, bool hasHttp, Func<string, string> parameter)
    {
        List<KeyValuePair<string, string>> variables = [new("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "in_memory")];
        if (hasHttp)
        {
            variables.Add(new("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "true"));
            variables.Add(new("HTTP_PORTS", ProjectPort.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case MySqlDatabaseResource database:
                    var server = database.Parent.Name;
                    var password = parameter(PasswordParameter(database.Parent));
                    var port = MySqlServerResource.TargetPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    variables.Add(new($"ConnectionStrings__{database.Name}",
                        $"{MySqlServerResource.ServerConnectionString(server, port, password)};Database={database.DatabaseName}"));
                    // No URI: Compose and Kubernetes substitute the password as it is, and a URI needs it escaped.
                    variables.AddRange(MySqlServerResource.PropertiesOf(server, port, "root", password, password, database.DatabaseName)
                        .Where(property => property.Key != "URI")
                        .Select(property => KeyValuePair.Create($"{EnvironmentNames.Of(database.Name)}_{property.Key}", property.Value)));
                    break;
                case ConnectionStringResource connection:
                    variables.Add(new($"ConnectionStrings__{connection.Name}", parameter(connection.Name)));
                    break;
            }
        }
        variables.AddRange(project.Environment.OrderBy(variable => variable.Key, StringComparer.Ordinal));
        return variables;
    }

    /// <summary>The parameters a deployment needs filled in: each server's password, and each connection string.</summary>
    public static List<(string Name, string Description)> Parameters(DistributedApplicationModel model) =>
    [
        .. model.Resources.OfType<MySqlServerResource>().Select(server =>
            (PasswordParameter(server), $"The root password of the {server.Name} server (at least 22 characters; generate one)")),
        .. model.Resources.OfType<ConnectionStringResource>().Select(connection =>
            (connection.Name, $"ConnectionStrings:{connection.Name}, a secret; empty when not used")),
    ];

    // Strings that YAML (1.1 as well as 1.2) would read as something else ("no", "true", "3306") are quoted:
    // Compose rejects a boolean where it wants a string, and `restart: no` would be false.
    public static string ToYaml(object document) =>
        new SerializerBuilder()
            .WithQuotingNecessaryStrings(quoteYaml1_1Strings: true)
            .DisableAliases()
            .Build()
            .Serialize(document);

    public static async Task WriteAsync(string path, string text, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(path, text.ReplaceLineEndings("\n"), new UTF8Encoding(false), cancellationToken);
    }
}
