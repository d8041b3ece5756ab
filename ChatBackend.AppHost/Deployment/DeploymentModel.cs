using System.Runtime.ExceptionServices;
using System.Text;
using ChatBackend.AppHost.MySql;
using Microsoft.Extensions.Logging;
using YamlDotNet.Serialization;

namespace ChatBackend.AppHost.Deployment;

/// <summary>
/// The app model as a deployment sees it, read from the real model in publish mode: each service with its image, its
/// environment as Aspire computes it for a manifest (placeholders resolved to service names and ports, parameters
/// left to the target: <c>${X}</c> in Compose, a Secret in Kubernetes), what it waits for, its endpoints and probes.
/// </summary>
internal sealed class DeploymentModel(DistributedApplicationModel model, DistributedApplicationExecutionContext executionContext, ILogger logger)
{
    /// <summary>The port a project's container listens on: the ASP.NET images' default, which HTTP_PORTS names.</summary>
    public const int ProjectPort = 8080;

    public IEnumerable<MySqlServerResource> Servers => model.Resources.OfType<MySqlServerResource>();

    public IEnumerable<ProjectResource> Projects => model.Resources.OfType<ProjectResource>();

    /// <summary>The parameters a deployment fills in: each one a service's environment used so far, in order.</summary>
    public IReadOnlyList<ParameterResource> Parameters => _parameters;

    private readonly List<ParameterResource> _parameters = [];

    public static string VariableName(string name) => name.ToUpperInvariant().Replace('-', '_');

    public static string ImageVariable(IResource resource) => $"{VariableName(resource.Name)}_IMAGE";

    /// <summary>The image the SDK publishes for a project (its ContainerRepository), the default of its image variable.</summary>
    public static string DefaultImage(ProjectResource project) => $"chatbackend-{project.Name}:latest";

    /// <summary>The project's plain HTTP endpoint (the default https one Aspire adds in publish mode is not served by the container).</summary>
    public static EndpointAnnotation? HttpEndpoint(IResource resource) =>
        resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(endpoint => endpoint.UriScheme == "http");

    /// <summary>What a resource waits for that the deployment runs: not a parameter (an existing database's connection string).</summary>
    public static IEnumerable<WaitAnnotation> Waits(IResource resource) =>
        resource.Annotations.OfType<WaitAnnotation>().Where(wait => wait.Resource is not ParameterResource);

    /// <summary>The service a wait names: a database is waited for through its server.</summary>
    public static IResource ServiceOf(IResource resource) => resource is MySqlDatabaseResource database ? database.Parent : resource;


    public static string? ProbePath(IResource resource, ProbeType type) =>
        resource.Annotations.OfType<EndpointProbeAnnotation>().FirstOrDefault(probe => probe.Type == type)?.Path;


    /// <summary>
    /// A resource's environment for a deployment, with each parameter written by <paramref name="parameter"/>. A
    /// variable that would need a secret URI-escaped (the URI connection property) is left out: neither target can.
    /// </summary>
    public async Task<List<KeyValuePair<string, string>>> EnvironmentAsync(IResource resource, Func<ParameterResource, string> parameter, CancellationToken cancellationToken)
    {
        var configuration = await ExecutionConfigurationBuilder.Create(resource)
            .WithEnvironmentVariablesConfig()
            .BuildAsync(executionContext, logger, cancellationToken);
        if (configuration.Exception is { } exception)
        {
            ExceptionDispatchInfo.Throw(exception);
        }
        return [.. configuration.EnvironmentVariablesWithUnprocessed
            .Select(variable => KeyValuePair.Create(variable.Key, Render(variable.Value.Unprocessed, parameter)))
            .Where(variable => variable.Value is not null)
            .Select(variable => KeyValuePair.Create(variable.Key, variable.Value!))];
    }

    // A value as the target writes it: literals as they are, references to other services by their service name and
    // target port, parameters by the target's reference; null when a part cannot be written (a secret to URI-escape).
    private string? Render(object? value, Func<ParameterResource, string> parameter)
    {
        switch (value)
        {
            case ParameterResource p:
                if (!_parameters.Contains(p))
                {
                    _parameters.Add(p);
                }
                return parameter(p);
            case ConnectionStringReference reference:
                return Render(reference.Resource.ConnectionStringExpression, parameter);
            case IResourceWithConnectionString resource:
                return Render(resource.ConnectionStringExpression, parameter);
            case ReferenceExpression { IsConditional: false } expression:
                var parts = new object?[expression.ValueProviders.Count];
                for (var i = 0; i < parts.Length; i++)
                {
                    var provider = expression.ValueProviders[i];
                    parts[i] = expression.StringFormats[i] == "uri"
                        ? provider is ParameterResource ? null : Render(provider, parameter) is { } text ? Uri.EscapeDataString(text) : null
                        : Render(provider, parameter);
                }
                return parts.Any(part => part is null) ? null : string.Format(System.Globalization.CultureInfo.InvariantCulture, expression.Format, parts);
            case EndpointReference endpoint:
                return Binding(endpoint.Resource, endpoint.EndpointName, EndpointProperty.Url);
            case EndpointReferenceExpression property:
                return Binding(property.Endpoint.Resource, property.Endpoint.EndpointName, property.Property);
            case string text:
                return text;
            case null:
                return null;
            default:
                return Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static string? Binding(IResource resource, string endpointName, EndpointProperty property)
    {
        var endpoint = resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == endpointName);
        if (endpoint is null)
        {
            return null;
        }
        var port = (endpoint.TargetPort ?? ProjectPort).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return property switch
        {
            EndpointProperty.Host or EndpointProperty.IPV4Host => resource.Name,
            EndpointProperty.Port or EndpointProperty.TargetPort => port,
            EndpointProperty.HostAndPort => $"{resource.Name}:{port}",
            EndpointProperty.Url => $"{endpoint.UriScheme}://{resource.Name}:{port}",
            EndpointProperty.Scheme => endpoint.UriScheme,
            _ => null,
        };
    }

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
