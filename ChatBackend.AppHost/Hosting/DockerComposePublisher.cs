using System.Text;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>
/// Writes <c>docker-compose.yaml</c> and <c>.env</c> the way Aspire's compose publisher does (ASPIRE.md §5.5): images
/// and parameters as variables, WaitFor and WaitForCompletion as depends_on, MySQL with a named volume and a real
/// health check, only external endpoints published.
/// </summary>
public sealed class DockerComposePublisher(DistributedApplicationModel model, IConfiguration configuration)
{
    public const string Network = "aspire";

    public async Task PublishAsync(string directory, CancellationToken cancellationToken)
    {
        var services = new Dictionary<string, object>();
        var volumes = new Dictionary<string, object>();
        var variables = new List<(string Name, string Value, string Comment)>();

        foreach (var resource in model.Resources)
        {
            switch (resource)
            {
                case MySqlServerResource server:
                    services[server.Name] = MySqlService(server, volumes);
                    break;
                case ProjectResource project:
                    services[project.Name] = ProjectService(project, variables);
                    break;
            }
        }
        foreach (var (name, description) in Deployment.Parameters(model))
        {
            variables.Add((EnvironmentNames.Of(name), "", $"Parameter {name}: {description}"));
        }

        var document = new Dictionary<string, object>
        {
            ["services"] = services,
            ["networks"] = new Dictionary<string, object> { [Network] = new Dictionary<string, object> { ["driver"] = "bridge" } },
            ["volumes"] = volumes,
        };
        await Deployment.WriteAsync(Path.Combine(directory, "docker-compose.yaml"), Deployment.ToYaml(document), cancellationToken);

        var env = new StringBuilder();
        foreach (var (name, value, comment) in variables)
        {
            env.Append("# ").Append(comment).Append('\n').Append(name).Append('=').Append(value).Append('\n');
        }
        await Deployment.WriteAsync(Path.Combine(directory, ".env"), env.ToString(), cancellationToken);
    }

    private static Dictionary<string, object> MySqlService(MySqlServerResource server, Dictionary<string, object> volumes)
    {
        var password = Parameter(Deployment.PasswordParameter(server));
        var service = new Dictionary<string, object>
        {
            ["image"] = $"{MySqlServerResource.Image}:{MySqlServerResource.Tag}",
            ["environment"] = new Dictionary<string, object> { ["MYSQL_ROOT_PASSWORD"] = password },
            // Internal: reachable by the other services on the network, not published on the host.
            ["expose"] = new List<object> { MySqlServerResource.TargetPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            // "Running" is not "ready": the migrator waits for the server to answer (service_healthy).
            ["healthcheck"] = new Dictionary<string, object>
            {
                ["test"] = new List<object> { "CMD-SHELL", "mysqladmin ping -h 127.0.0.1 -uroot -p\"$$MYSQL_ROOT_PASSWORD\" --silent" },
                ["interval"] = "5s",
                ["timeout"] = "5s",
                ["retries"] = 20,
                ["start_period"] = "30s",
            },
            ["networks"] = new List<object> { Network },
        };
        if (server.HasDataVolume)
        {
            var volume = ManifestPublisher.VolumeName(server);
            volumes[volume] = new Dictionary<string, object> { ["driver"] = "local" };
            service["volumes"] = new List<object> { $"{volume}:/var/lib/mysql" };
        }
        return service;
    }

    private Dictionary<string, object> ProjectService(ProjectResource project, List<(string Name, string Value, string Comment)> variables)
    {
        var imageVariable = Deployment.ImageVariable(project);
        variables.Add((imageVariable, Deployment.DefaultImage(project), $"Container image of {project.Name} (dotnet publish -t:PublishContainer)"));
        var hasHttp = LaunchProfile.For(project, configuration)?.HttpUrl is not null;
        var service = new Dictionary<string, object>
        {
            ["image"] = $"${{{imageVariable}}}",
            ["environment"] = Deployment.ProjectEnvironment(project, hasHttp, name => Parameter(name))
                .ToDictionary(variable => variable.Key, variable => (object)variable.Value),
        };
        if (hasHttp)
        {
            var port = Deployment.ProjectPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (project.ExternalHttpEndpoints)
            {
                var portVariable = $"{EnvironmentNames.Of(project.Name)}_PORT";
                variables.Add((portVariable, port, $"Host port of {project.Name}'s HTTP endpoint"));
                service["ports"] = new List<object> { $"${{{portVariable}}}:{port}" };
            }
            else
            {
                service["expose"] = new List<object> { port };
            }
        }
        if (project.HealthCheckPath is { } health)
        {
            // The ASP.NET images have bash but no curl: the health endpoint through bash's /dev/tcp.
            service["healthcheck"] = new Dictionary<string, object>
            {
                ["test"] = new List<object>
                {
                    "CMD", "bash", "-c",
                    $"exec 3<>/dev/tcp/127.0.0.1/{Deployment.ProjectPort} && printf 'GET {health} HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3",
                },
                ["interval"] = "10s",
                ["timeout"] = "5s",
                ["retries"] = 3,
                ["start_period"] = "20s",
            };
        }
        var dependsOn = new Dictionary<string, object>();
        foreach (var wait in project.Waits)
        {
            var target = wait.Resource is MySqlDatabaseResource database ? database.Parent.Name : wait.Resource.Name;
            dependsOn[target] = new Dictionary<string, object>
            {
                ["condition"] = wait.Type == WaitType.WaitForCompletion ? "service_completed_successfully" : "service_healthy",
            };
        }
        if (dependsOn.Count > 0)
        {
            service["depends_on"] = dependsOn;
        }
        // A worker that ends (the migrator) runs once; a server is restarted.
        service["restart"] = hasHttp ? "unless-stopped" : "no";
        service["networks"] = new List<object> { Network };
        return service;
    }

    private static string Parameter(string name) => $"${{{EnvironmentNames.Of(name)}}}";
}
