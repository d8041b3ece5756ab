using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>
/// Writes plain Kubernetes manifests, one file per resource, that <c>kubectl apply -f DIR</c> applies as they are
/// (Aspire writes a Helm chart; plain manifests need no Helm and read as what runs). MySQL is a StatefulSet with a
/// PersistentVolumeClaim, or left out when the AppHost is given an external <c>ConnectionStrings:chatdb</c>; a project
/// that waits for another's completion (the API for the migrator) runs that project as an init container, and the
/// migrator is also a Job. Secrets come from one Secret that the pods reference; no value is written.
/// </summary>
public sealed class KubernetesPublisher(DistributedApplicationModel model, IConfiguration configuration)
{
    public const string SecretName = "chatbackend-secrets";

    /// <summary>The Secret key that holds an external database's connection string.</summary>
    public static string ConnectionStringKey(IResource database) => $"connectionstrings-{database.Name}";

    public async Task PublishAsync(string directory, CancellationToken cancellationToken)
    {
        foreach (var resource in model.Resources)
        {
            List<object> documents = resource switch
            {
                MySqlServerResource server when !IsExternal(server) => MySql(server),
                ProjectResource project => Project(project),
                _ => [],
            };
            if (documents.Count > 0)
            {
                var yaml = string.Join("---\n", documents.Select(Deployment.ToYaml));
                await Deployment.WriteAsync(Path.Combine(directory, $"{resource.Name}.yaml"), yaml, cancellationToken);
            }
        }
    }

    private bool IsExternal(MySqlServerResource server) => server.ConfiguredConnectionString(configuration) is not null;

    private static List<object> MySql(MySqlServerResource server)
    {
        var labels = Labels(server.Name);
        var service = Service(server.Name, "tcp", MySqlServerResource.TargetPort, MySqlServerResource.TargetPort);
        var container = new Dictionary<string, object>
        {
            ["name"] = server.Name,
            ["image"] = $"{MySqlServerResource.Image}:{MySqlServerResource.Tag}",
            ["env"] = new List<object> { SecretVariable("MYSQL_ROOT_PASSWORD", Deployment.PasswordParameter(server), optional: false) },
            ["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "tcp", ["containerPort"] = MySqlServerResource.TargetPort } },
            ["readinessProbe"] = new Dictionary<string, object>
            {
                ["exec"] = new Dictionary<string, object>
                {
                    ["command"] = new List<object> { "sh", "-c", "mysqladmin ping -h 127.0.0.1 -uroot -p\"$MYSQL_ROOT_PASSWORD\" --silent" },
                },
                ["periodSeconds"] = 5,
                ["timeoutSeconds"] = 5,
            },
            ["resources"] = Resources("250m", "512Mi", "1", "1Gi"),
            ["volumeMounts"] = new List<object> { new Dictionary<string, object> { ["name"] = "data", ["mountPath"] = "/var/lib/mysql" } },
        };
        var statefulSet = new Dictionary<string, object>
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "StatefulSet",
            ["metadata"] = Metadata(server.Name),
            ["spec"] = new Dictionary<string, object>
            {
                ["serviceName"] = server.Name,
                ["replicas"] = 1,
                ["selector"] = new Dictionary<string, object> { ["matchLabels"] = labels },
                ["template"] = new Dictionary<string, object>
                {
                    ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
                    ["spec"] = new Dictionary<string, object> { ["containers"] = new List<object> { container } },
                },
                ["volumeClaimTemplates"] = new List<object>
                {
                    new Dictionary<string, object>
                    {
                        ["metadata"] = new Dictionary<string, object> { ["name"] = "data" },
                        ["spec"] = new Dictionary<string, object>
                        {
                            ["accessModes"] = new List<object> { "ReadWriteOnce" },
                            ["resources"] = new Dictionary<string, object>
                            {
                                ["requests"] = new Dictionary<string, object> { ["storage"] = "10Gi" },
                            },
                        },
                    },
                },
            },
        };
        return [service, statefulSet];
    }

    private List<object> Project(ProjectResource project)
    {
        var hasHttp = LaunchProfile.For(project, configuration)?.HttpUrl is not null;
        var labels = Labels(project.Name);
        var container = Container(project, hasHttp);
        if (!hasHttp)
        {
            // A worker that runs to its end: a Job.
            return
            [
                new Dictionary<string, object>
                {
                    ["apiVersion"] = "batch/v1",
                    ["kind"] = "Job",
                    ["metadata"] = Metadata(project.Name),
                    ["spec"] = new Dictionary<string, object>
                    {
                        ["backoffLimit"] = 10,
                        ["template"] = new Dictionary<string, object>
                        {
                            ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
                            ["spec"] = new Dictionary<string, object>
                            {
                                ["restartPolicy"] = "OnFailure",
                                ["containers"] = new List<object> { container },
                            },
                        },
                    },
                },
            ];
        }

        container["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "http", ["containerPort"] = Deployment.ProjectPort } };
        container["readinessProbe"] = HttpProbe(project.HealthCheckPath ?? "/health", periodSeconds: 10);
        container["livenessProbe"] = HttpProbe("/alive", periodSeconds: 20);
        container["resources"] = Resources("100m", "128Mi", "1", "512Mi");
        var podSpec = new Dictionary<string, object> { ["containers"] = new List<object> { container } };
        // WaitForCompletion: the project it waits for runs first in the pod, to its end. The migrator is idempotent
        // and takes a named lock, so next to its Job it only waits for the schema to be current and exits 0.
        var initContainers = project.Waits.Where(wait => wait.Type == WaitType.WaitForCompletion && wait.Resource is ProjectResource)
            .Select(wait => (object)Container((ProjectResource)wait.Resource, hasHttp: false)).ToList();
        if (initContainers.Count > 0)
        {
            podSpec["initContainers"] = initContainers;
        }
        var deployment = new Dictionary<string, object>
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = Metadata(project.Name),
            ["spec"] = new Dictionary<string, object>
            {
                // Stateless: every conversation lives in the database, so replicas scale out freely.
                ["replicas"] = 2,
                ["selector"] = new Dictionary<string, object> { ["matchLabels"] = labels },
                ["template"] = new Dictionary<string, object>
                {
                    ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
                    ["spec"] = podSpec,
                },
            },
        };
        return [deployment, Service(project.Name, "http", 80, Deployment.ProjectPort)];
    }

    private Dictionary<string, object> Container(ProjectResource project, bool hasHttp)
    {
        List<object> env = [];
        var databases = project.References.OfType<MySqlDatabaseResource>().ToList();
        var external = databases.Where(database => IsExternal(database.Parent)).ToList();
        // Secrets first, so that later values can use them as $(NAME): a password is never inlined.
        foreach (var database in databases)
        {
            var password = Deployment.PasswordParameter(database.Parent);
            env.Add(external.Contains(database)
                ? SecretVariable($"ConnectionStrings__{database.Name}", ConnectionStringKey(database), optional: false)
                : SecretVariable(EnvironmentNames.Of(password), password, optional: false));
        }
        var connections = project.References.OfType<ConnectionStringResource>().ToDictionary(
            connection => $"$({EnvironmentNames.Of(connection.Name)})", connection => connection.Name);
        foreach (var (name, value) in Deployment.ProjectEnvironment(project, hasHttp, parameter => $"$({EnvironmentNames.Of(parameter)})"))
        {
            // An external database's connection string (from the Secret, above) has no server of ours to describe.
            if (external.Any(database => name == $"ConnectionStrings__{database.Name}" || name.StartsWith($"{EnvironmentNames.Of(database.Name)}_", StringComparison.Ordinal)))
            {
                continue;
            }
            env.Add(connections.TryGetValue(value, out var connection)
                ? SecretVariable(name, connection, optional: true)
                : new Dictionary<string, object> { ["name"] = name, ["value"] = value });
        }
        return new Dictionary<string, object>
        {
            ["name"] = project.Name,
            ["image"] = Deployment.DefaultImage(project),
            ["env"] = env,
        };
    }

    private static Dictionary<string, object> SecretVariable(string name, string key, bool optional) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new Dictionary<string, object>
        {
            ["secretKeyRef"] = new Dictionary<string, object> { ["name"] = SecretName, ["key"] = key, ["optional"] = optional },
        },
    };

    private static Dictionary<string, object> HttpProbe(string path, int periodSeconds) => new()
    {
        ["httpGet"] = new Dictionary<string, object> { ["path"] = path, ["port"] = "http" },
        ["periodSeconds"] = periodSeconds,
        ["timeoutSeconds"] = 5,
    };

    private static Dictionary<string, object> Resources(string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit) => new()
    {
        ["requests"] = new Dictionary<string, object> { ["cpu"] = cpuRequest, ["memory"] = memoryRequest },
        ["limits"] = new Dictionary<string, object> { ["cpu"] = cpuLimit, ["memory"] = memoryLimit },
    };

    private static Dictionary<string, object> Service(string name, string portName, int port, int targetPort) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = Metadata(name),
        ["spec"] = new Dictionary<string, object>
        {
            ["selector"] = Labels(name),
            ["ports"] = new List<object>
            {
                new Dictionary<string, object> { ["name"] = portName, ["port"] = port, ["targetPort"] = targetPort },
            },
        },
    };

    private static Dictionary<string, object> Metadata(string name) => new()
    {
        ["name"] = name,
        ["labels"] = Labels(name),
    };

    private static Dictionary<string, object> Labels(string name) => new()
    {
        ["app.kubernetes.io/name"] = name,
        ["app.kubernetes.io/part-of"] = "chatbackend",
    };
}
