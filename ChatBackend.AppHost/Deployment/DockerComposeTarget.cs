using System.Text;
using ChatBackend.AppHost.MySql;

namespace ChatBackend.AppHost.Deployment;

/// <summary>
/// Writes <c>docker-compose.yaml</c> and <c>.env</c> as Aspire.Hosting.Docker does (which this feed does not serve):
/// images and parameters as variables, WaitFor and WaitForCompletion as depends_on, MySQL with its named volume and a
/// real health check, only external endpoints published, and a worker that ends (the migrator) run once.
/// </summary>
internal static class DockerComposeTarget
{
    public const string Network = "aspire";

    public static async Task PublishAsync(DeploymentModel model, string directory, CancellationToken cancellationToken)
    {
        var services = new Dictionary<string, object>();
        var volumes = new Dictionary<string, object>();
        var variables = new List<(string Name, string Value, string Comment)>();

        foreach (var server in model.Servers)
        {
            services[server.Name] = await MySqlServiceAsync(model, server, volumes, variables, cancellationToken);
        }
        foreach (var project in model.Projects)
        {
            services[project.Name] = await ProjectServiceAsync(model, project, variables, cancellationToken);
        }
        foreach (var parameter in model.Parameters)
        {
            variables.Add((DeploymentModel.VariableName(parameter.Name), "",
                $"Parameter {parameter.Name}{(parameter.Secret ? " (a secret)" : "")}: fill in before `docker compose up`"));
        }

        var document = new Dictionary<string, object>
        {
            ["services"] = services,
            ["networks"] = new Dictionary<string, object> { [Network] = new Dictionary<string, object> { ["driver"] = "bridge" } },
            ["volumes"] = volumes,
        };
        await DeploymentModel.WriteAsync(Path.Combine(directory, "docker-compose.yaml"), DeploymentModel.ToYaml(document), cancellationToken);

        var env = new StringBuilder();
        foreach (var (name, value, comment) in variables)
        {
            env.Append("# ").Append(comment).Append('\n').Append(name).Append('=').Append(value).Append('\n');
        }
        await DeploymentModel.WriteAsync(Path.Combine(directory, ".env"), env.ToString(), cancellationToken);
    }

    private static string Parameter(ParameterResource parameter) => $"${{{DeploymentModel.VariableName(parameter.Name)}}}";

    private static async Task<Dictionary<string, object>> MySqlServiceAsync(DeploymentModel model, MySqlServerResource server,
        Dictionary<string, object> volumes, List<(string Name, string Value, string Comment)> variables, CancellationToken cancellationToken)
    {
        // The image is a variable too: any image with the official images' contract (MYSQL_ROOT_PASSWORD, /var/lib/mysql).
        var imageVariable = DeploymentModel.ImageVariable(server);
        variables.Add((imageVariable, server.Image, $"Container image of {server.Name} (the official mysql image's contract; the AppHost's {MySqlContainerImageTags.ImageSetting})"));
        var service = new Dictionary<string, object>
        {
            ["image"] = $"${{{imageVariable}}}",
            ["environment"] = (await model.EnvironmentAsync(server, Parameter, cancellationToken)).ToDictionary(v => v.Key, v => (object)v.Value),
            // Internal: reachable by the other services on the network, not published on the host.
            ["expose"] = new List<object> { MySqlContainerImageTags.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
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
        if (server.DataVolume is { } volume)
        {
            volumes[volume.Name] = new Dictionary<string, object> { ["driver"] = "local" };
            service["volumes"] = new List<object> { $"{volume.Name}:/var/lib/mysql" };
        }
        return service;
    }

    private static async Task<Dictionary<string, object>> ProjectServiceAsync(DeploymentModel model, ProjectResource project,
        List<(string Name, string Value, string Comment)> variables, CancellationToken cancellationToken)
    {
        var imageVariable = DeploymentModel.ImageVariable(project);
        variables.Add((imageVariable, DeploymentModel.DefaultImage(project), $"Container image of {project.Name} (dotnet publish -t:PublishContainer)"));
        var service = new Dictionary<string, object>
        {
            ["image"] = $"${{{imageVariable}}}",
            ["environment"] = (await model.EnvironmentAsync(project, Parameter, cancellationToken)).ToDictionary(v => v.Key, v => (object)v.Value),
        };
        var http = DeploymentModel.HttpEndpoint(project);
        if (http is not null)
        {
            var port = DeploymentModel.ProjectPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (http.IsExternal)
            {
                var portVariable = $"{DeploymentModel.VariableName(project.Name)}_PORT";
                variables.Add((portVariable, port, $"Host port of {project.Name}'s HTTP endpoint"));
                service["ports"] = new List<object> { $"${{{portVariable}}}:{port}" };
            }
            else
            {
                service["expose"] = new List<object> { port };
            }
        }
        if (DeploymentModel.ProbePath(project, ProbeType.Readiness) is { } health)
        {
            // The ASP.NET images have bash but no curl: the health endpoint through bash's /dev/tcp.
            service["healthcheck"] = new Dictionary<string, object>
            {
                ["test"] = new List<object>
                {
                    "CMD", "bash", "-c",
                    $"exec 3<>/dev/tcp/127.0.0.1/{DeploymentModel.ProjectPort} && printf 'GET {health} HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3",
                },
                ["interval"] = "10s",
                ["timeout"] = "5s",
                ["retries"] = 3,
                ["start_period"] = "20s",
            };
        }
        // A wait for a database is one for its server too (Aspire adds both): one condition per service.
        var dependsOn = DeploymentModel.Waits(project).GroupBy(wait => DeploymentModel.ServiceOf(wait.Resource).Name).ToDictionary(
            waits => waits.Key,
            waits => (object)new Dictionary<string, object>
            {
                ["condition"] = waits.First().WaitType == WaitType.WaitForCompletion ? "service_completed_successfully" : "service_healthy",
            });
        if (dependsOn.Count > 0)
        {
            service["depends_on"] = dependsOn;
        }
        // A worker that ends (the migrator) runs once; a server is restarted.
        service["restart"] = http is not null ? "unless-stopped" : "no";
        service["networks"] = new List<object> { Network };
        return service;
    }
}
