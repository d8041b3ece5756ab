using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatBackend.AppHost.Deployment;

/// <summary>
/// The Docker Compose and Kubernetes targets as steps of Aspire's publish pipeline. Each runs under <c>aspire publish</c>
/// (into <c>docker-compose/</c> and <c>kubernetes/</c> of the output path), or alone, into the output path, as
/// <c>--publisher docker-compose|kubernetes --output-path DIR</c>, the way <c>--publisher manifest</c> runs Aspire's
/// manifest step.
/// </summary>
public static class DeploymentTargetExtensions
{
    private static readonly Dictionary<string, Func<DeploymentModel, string, CancellationToken, Task>> Targets = new()
    {
        ["docker-compose"] = DockerComposeTarget.PublishAsync,
        ["kubernetes"] = KubernetesTarget.PublishAsync,
    };

    /// <summary>
    /// A connection string the deployments let the deployer leave empty, because the API runs without it (the model's:
    /// the offline responder). Every other one is required: Kubernetes refuses to start a pod without it.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> OptionalInDeployments(this IResourceBuilder<IResourceWithConnectionString> connection) =>
        connection.WithAnnotation(new OptionalInDeploymentsAnnotation());

    public static IDistributedApplicationBuilder AddDeploymentTargets(this IDistributedApplicationBuilder builder)
    {
        var publisher = builder.Configuration["Publishing:Publisher"];
        if (publisher is not null && Targets.ContainsKey(publisher) && string.IsNullOrEmpty(builder.Configuration["Pipeline:Step"]))
        {
            builder.Configuration["Pipeline:Step"] = StepName(publisher);
        }
        foreach (var (name, publish) in Targets)
        {
            builder.Pipeline.AddStep(StepName(name), async context =>
            {
                var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
                var directory = builder.Configuration["Pipeline:Step"] == StepName(name) ? output : Path.Combine(output, name);
                var model = new DeploymentModel(context.Model, context.ExecutionContext, context.Logger);
                await publish(model, directory, context.CancellationToken);
                context.Logger.LogInformation("Published {Target} to: {Directory}", name, Path.GetFullPath(directory));
            }, requiredBy: WellKnownPipelineSteps.Publish);
        }
        return builder;
    }

    private static string StepName(string target) => $"publish-{target}";
}

/// <summary>Marks a connection string the deployments may leave empty (<see cref="DeploymentTargetExtensions.OptionalInDeployments"/>).</summary>
public sealed class OptionalInDeploymentsAnnotation : IResourceAnnotation;
