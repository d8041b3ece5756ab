using System.Text;
using ChatBackend.AppHost.MySql;

namespace ChatBackend.AppHost.Deployment;

/// <summary>
/// Writes plain Kubernetes manifests, one file per resource, and a kustomization that makes the Secret from
/// <c>secrets.env</c>: the deployer fills that file in and runs <c>kubectl apply -k DIR</c> (Aspire.Hosting.Kubernetes,
/// not served here, writes a Helm chart; these need no Helm). MySQL is a StatefulSet with a volume claim; the API a
/// Deployment of two replicas whose pods first run the migrator as an init container (it is idempotent and takes a
/// lock); the migrator is also a Job. No secret value is written.
/// </summary>
internal static class KubernetesTarget
{
    public const string SecretName = "chatbackend-secrets";

    public const string SecretsFile = "secrets.env";

    public static async Task PublishAsync(DeploymentModel model, string directory, CancellationToken cancellationToken)
    {
        List<string> files = [];
        foreach (var server in model.Servers)
        {
            files.Add(await WriteAsync(directory, server, await MySqlAsync(model, server, cancellationToken), cancellationToken));
        }
        foreach (var project in model.Projects)
        {
            files.Add(await WriteAsync(directory, project, await ProjectAsync(model, project, cancellationToken), cancellationToken));
        }

        var secrets = new StringBuilder();
        foreach (var parameter in model.Parameters)
        {
            secrets.Append($"# {parameter.Name}{(IsOptional(parameter) ? " (may stay empty)" : "")}\n{parameter.Name}=\n");
        }
        await DeploymentModel.WriteAsync(Path.Combine(directory, SecretsFile), secrets.ToString(), cancellationToken);

        var kustomization = new Dictionary<string, object>
        {
            ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
            ["kind"] = "Kustomization",
            ["resources"] = files.Cast<object>().ToList(),
            // kustomize names the Secret with a hash of its content and rewrites every reference to it, so a changed
            // secret rolls the pods that use it.
            ["secretGenerator"] = new List<object>
            {
                new Dictionary<string, object> { ["name"] = SecretName, ["envs"] = new List<object> { SecretsFile } },
            },
        };
        await DeploymentModel.WriteAsync(Path.Combine(directory, "kustomization.yaml"), DeploymentModel.ToYaml(kustomization), cancellationToken);
    }

    private static bool IsOptional(ParameterResource parameter) =>
        parameter is IResourceWithConnectionString && parameter.Annotations.OfType<OptionalInDeploymentsAnnotation>().Any();

    private static async Task<string> WriteAsync(string directory, IResource resource, List<object> documents, CancellationToken cancellationToken)
    {
        var file = $"{resource.Name}.yaml";
        await DeploymentModel.WriteAsync(Path.Combine(directory, file), string.Join("---\n", documents.Select(DeploymentModel.ToYaml)), cancellationToken);
        return file;
    }

    private static async Task<List<object>> MySqlAsync(DeploymentModel model, MySqlServerResource server, CancellationToken cancellationToken)
    {
        var labels = Labels(server.Name);
        var container = await ContainerAsync(model, server, server.Image, cancellationToken);
        container["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "tcp", ["containerPort"] = MySqlContainerImageTags.Port } };
        container["readinessProbe"] = new Dictionary<string, object>
        {
            ["exec"] = new Dictionary<string, object>
            {
                ["command"] = new List<object> { "sh", "-c", "mysqladmin ping -h 127.0.0.1 -uroot -p\"$MYSQL_ROOT_PASSWORD\" --silent" },
            },
            ["periodSeconds"] = 5,
            ["timeoutSeconds"] = 5,
        };
        container["resources"] = Resources("250m", "512Mi", "1", "1Gi");
        container["volumeMounts"] = new List<object> { new Dictionary<string, object> { ["name"] = "data", ["mountPath"] = "/var/lib/mysql" } };
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
                            ["resources"] = new Dictionary<string, object> { ["requests"] = new Dictionary<string, object> { ["storage"] = "10Gi" } },
                        },
                    },
                },
            },
        };
        return [Service(server.Name, "tcp", MySqlContainerImageTags.Port, MySqlContainerImageTags.Port), statefulSet];
    }

    private static async Task<List<object>> ProjectAsync(DeploymentModel model, ProjectResource project, CancellationToken cancellationToken)
    {
        var labels = Labels(project.Name);
        var container = await ContainerAsync(model, project, DeploymentModel.DefaultImage(project), cancellationToken);
        if (DeploymentModel.HttpEndpoint(project) is null)
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

        container["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "http", ["containerPort"] = DeploymentModel.ProjectPort } };
        if (DeploymentModel.ProbePath(project, ProbeType.Readiness) is { } readiness)
        {
            container["readinessProbe"] = HttpProbe(readiness, periodSeconds: 10);
        }
        if (DeploymentModel.ProbePath(project, ProbeType.Liveness) is { } liveness)
        {
            container["livenessProbe"] = HttpProbe(liveness, periodSeconds: 20);
        }
        container["resources"] = Resources("100m", "128Mi", "1", "512Mi");
        var podSpec = new Dictionary<string, object> { ["containers"] = new List<object> { container } };
        // WaitForCompletion: the project it waits for runs first in the pod, to its end. The migrator is idempotent
        // and takes a named lock, so next to its Job it only waits for the schema to be current and exits 0.
        List<object> initContainers = [];
        foreach (var wait in DeploymentModel.Waits(project).Where(wait => wait.WaitType == WaitType.WaitForCompletion && wait.Resource is ProjectResource))
        {
            var first = (ProjectResource)wait.Resource;
            initContainers.Add(await ContainerAsync(model, first, DeploymentModel.DefaultImage(first), cancellationToken));
        }
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
        return [deployment, Service(project.Name, "http", 80, DeploymentModel.ProjectPort)];
    }

    // The environment, with each parameter from the Secret: a variable whose whole value is a parameter reads its key;
    // any other that uses one refers to it as $(NAME), which Kubernetes expands from a variable declared before it.
    private static async Task<Dictionary<string, object>> ContainerAsync(DeploymentModel model, IResource resource, string image, CancellationToken cancellationToken)
    {
        List<ParameterResource> used = [];
        var environment = await model.EnvironmentAsync(resource, parameter =>
        {
            if (!used.Contains(parameter))
            {
                used.Add(parameter);
            }
            return $"$({DeploymentModel.VariableName(parameter.Name)})";
        }, cancellationToken);
        List<object> env = [];
        foreach (var parameter in used.Where(parameter => !IsOptional(parameter)))
        {
            env.Add(SecretVariable(DeploymentModel.VariableName(parameter.Name), parameter));
        }
        foreach (var (name, value) in environment)
        {
            var whole = used.FirstOrDefault(parameter => value == $"$({DeploymentModel.VariableName(parameter.Name)})" && IsOptional(parameter));
            env.Add(whole is not null ? SecretVariable(name, whole) : new Dictionary<string, object> { ["name"] = name, ["value"] = value });
        }
        return new Dictionary<string, object> { ["name"] = resource.Name, ["image"] = image, ["env"] = env };
    }

    private static Dictionary<string, object> SecretVariable(string name, ParameterResource parameter) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new Dictionary<string, object>
        {
            ["secretKeyRef"] = new Dictionary<string, object> { ["name"] = SecretName, ["key"] = parameter.Name, ["optional"] = IsOptional(parameter) },
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
            ["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = portName, ["port"] = port, ["targetPort"] = targetPort } },
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
