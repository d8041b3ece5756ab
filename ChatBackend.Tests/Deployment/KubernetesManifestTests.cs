using System.Globalization;
using System.Text.Json.Nodes;
using ChatBackend.Tests.Infrastructure;
using k8s;
using NJsonSchema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using static ChatBackend.Tests.Deployment.DeploymentEnvironment;

namespace ChatBackend.Tests.Deployment;

/// <summary>
/// The Kubernetes output as a cluster would take it, short of a cluster (none can run here): rendered by
/// <c>kubectl kustomize</c> (the Secret made from secrets.env, references renamed), every document validated against
/// the Kubernetes API's schema of its kind (Schemas/kubernetes-strict.json: Kubernetes 1.13's definitions from Debian's
/// golang-k8s-kube-openapi-dev, strict as kubeconform's; eng/kubernetes-schemas.py), then the checks a cluster makes
/// first: selectors match their pods' labels, every Secret, key and ConfigMap referred to exists, probes and Services
/// name ports the containers have, and the API's init container runs what the migrator's Job runs.
/// </summary>
[Trait("Category", "Deployment")]
public sealed class KubernetesManifestTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("chatbackend-k8s-").FullName;

    [Fact]
    public async Task EveryRenderedDocumentSatisfiesTheKubernetesApiSchemaOfItsKind()
    {
        var documents = await RenderAsync();

        Assert.Equal(["Deployment", "Job", "Secret", "Service", "Service", "StatefulSet"], documents.Select(Kind).Order());
        foreach (var document in documents)
        {
            var errors = (await SchemaAsync(Kind(document))).Validate(document.ToJsonString());
            Assert.True(errors.Count == 0, $"{Kind(document)} {Name(document)}:\n{string.Join("\n", errors)}");
        }
    }

    [Fact]
    public async Task EveryRenderedDocumentReadsStrictlyAsACurrentKubernetesApisTypes()
    {
        // KubernetesClient's models are generated from a current Kubernetes API's OpenAPI document: read strictly, a
        // field the API does not define, or a value of the wrong type, throws (required fields: the schema's test).
        var objects = KubernetesYaml.LoadAllFromString(await RenderYamlAsync(), strict: true);

        Assert.Equal(["V1Deployment", "V1Job", "V1Secret", "V1Service", "V1Service", "V1StatefulSet"], objects.Select(o => o.GetType().Name).Order());
        var misspelt = (await RenderYamlAsync()).Replace("  replicas: 2", "  replica: 2", StringComparison.Ordinal);
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(misspelt, strict: true));
    }

    [Theory]
    [InlineData("Deployment", "spec", "replica", "2")] // a misspelt field
    [InlineData("Service", "spec", "ports", "\"80\"")] // a string where a list belongs
    [InlineData("StatefulSet", "spec", "replicas", "\"one\"")] // a string where an integer belongs
    public async Task TheSchemaRejectsAWrongField(string kind, string parent, string field, string json)
    {
        var document = (await RenderAsync()).First(d => Kind(d) == kind);
        document[parent]![field] = JsonNode.Parse(json);

        Assert.NotEmpty((await SchemaAsync(kind)).Validate(document.ToJsonString()));
    }

    [Fact]
    public async Task SelectorsReferencesPortsAndTheInitContainerHoldAsAClusterChecksThem()
    {
        var documents = await RenderAsync();
        var workloads = documents.Where(d => Kind(d) is "Deployment" or "StatefulSet" or "Job").ToList();
        var services = documents.Where(d => Kind(d) == "Service").ToList();
        var secrets = documents.Where(d => Kind(d) == "Secret").ToDictionary(Name, d => Keys(d["data"]).Concat(Keys(d["stringData"])).ToHashSet());
        var configMaps = documents.Where(d => Kind(d) == "ConfigMap").ToDictionary(Name, d => Keys(d["data"]).ToHashSet());

        foreach (var workload in workloads)
        {
            var what = $"{Kind(workload)} {Name(workload)}";
            var labels = Labels(workload["spec"]!["template"]!["metadata"]!["labels"]);
            var selector = Labels(workload["spec"]!["selector"]?["matchLabels"]);
            Assert.True(Kind(workload) == "Job" || selector.Count > 0, $"{what} has no selector.");
            Assert.True(selector.All(label => labels.Contains(label)), $"{what}: its selector does not match its pods' labels.");
            var pod = workload["spec"]!["template"]!["spec"]!;
            var claims = Items(workload["spec"]!["volumeClaimTemplates"]).Select(claim => claim["metadata"]!["name"]!.ToString());
            var volumes = Names(pod["volumes"]).Concat(claims).ToHashSet();
            foreach (var container in Items(pod["containers"]).Concat(Items(pod["initContainers"])))
            {
                var where = $"{what}, container {container["name"]}";
                var ports = Items(container["ports"]).SelectMany(port => new[] { port["name"]?.ToString(), port["containerPort"]!.ToString() }).ToHashSet();
                foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" }.Select(p => container[p]).OfType<JsonNode>())
                {
                    var port = (probe["httpGet"] ?? probe["tcpSocket"])?["port"]?.ToString();
                    Assert.True(port is null || ports.Contains(port), $"{where}: a probe's port {port} is none of the container's ports.");
                }
                foreach (var variable in Items(container["env"]))
                {
                    if (variable["valueFrom"]?["secretKeyRef"] is { } secretKey)
                    {
                        Assert.True(secrets.TryGetValue(secretKey["name"]!.ToString(), out var keys), $"{where}: Secret {secretKey["name"]} does not exist.");
                        Assert.True(keys!.Contains(secretKey["key"]!.ToString()), $"{where}: Secret {secretKey["name"]} has no key {secretKey["key"]}.");
                    }
                    if (variable["valueFrom"]?["configMapKeyRef"] is { } configKey)
                    {
                        Assert.True(configMaps.TryGetValue(configKey["name"]!.ToString(), out var keys), $"{where}: ConfigMap {configKey["name"]} does not exist.");
                        Assert.True(keys!.Contains(configKey["key"]!.ToString()), $"{where}: ConfigMap {configKey["name"]} has no key {configKey["key"]}.");
                    }
                }
                foreach (var source in Items(container["envFrom"]))
                {
                    Assert.True(source["secretRef"] is not { } secret || secrets.ContainsKey(secret["name"]!.ToString()), $"{where}: envFrom names a missing Secret.");
                    Assert.True(source["configMapRef"] is not { } map || configMaps.ContainsKey(map["name"]!.ToString()), $"{where}: envFrom names a missing ConfigMap.");
                }
                Assert.All(Names(container["volumeMounts"]), mount => Assert.True(volumes.Contains(mount), $"{where}: volume {mount} is not declared."));
            }
        }

        foreach (var service in services)
        {
            var selector = Labels(service["spec"]!["selector"]);
            var targets = workloads.Where(w => selector.Count > 0 && selector.All(label => Labels(w["spec"]!["template"]!["metadata"]!["labels"]).Contains(label))).ToList();
            var target = Assert.Single(targets, w => Kind(w) != "Job");
            var ports = Items(target["spec"]!["template"]!["spec"]!["containers"]).SelectMany(c => Items(c["ports"]))
                .SelectMany(port => new[] { port["name"]?.ToString(), port["containerPort"]!.ToString() }).ToHashSet();
            Assert.All(Items(service["spec"]!["ports"]), port =>
                Assert.True(ports.Contains((port["targetPort"] ?? port["port"])!.ToString()), $"Service {Name(service)}: target port {port["targetPort"]} is none of {Name(target)}'s."));
        }
        var statefulSet = Assert.Single(workloads, w => Kind(w) == "StatefulSet");
        Assert.Contains(services, service => Name(service) == statefulSet["spec"]!["serviceName"]!.ToString());

        // The API's pods run the migrator first: the same image, command, arguments and environment as its Job.
        var job = Assert.Single(workloads, w => Kind(w) == "Job");
        var migrator = Items(job["spec"]!["template"]!["spec"]!["containers"]).Single();
        var deployment = Assert.Single(workloads, w => Kind(w) == "Deployment");
        var init = Items(deployment["spec"]!["template"]!["spec"]!["initContainers"]).Single();
        Assert.Equal(migrator["image"]!.ToString(), init["image"]!.ToString());
        Assert.Equal(migrator["command"]?.ToJsonString(), init["command"]?.ToJsonString());
        Assert.Equal(migrator["args"]?.ToJsonString(), init["args"]?.ToJsonString());
        Assert.Equal(migrator["env"]!.ToJsonString(), init["env"]!.ToJsonString());
    }

    // The Kubernetes output as a deployer writes it, rendered as `kubectl apply -k` would send it.
    private async Task<string> RenderYamlAsync()
    {
        await AppHostPublisher.PublishAsync("kubernetes", _output);
        var (exitCode, yaml) = await RunAsync("kubectl", ["kustomize", _output]);
        Assert.True(exitCode == 0, $"kubectl kustomize exited with {exitCode}: {yaml}");
        return yaml;
    }

    private async Task<List<JsonObject>> RenderAsync()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(await RenderYamlAsync()));
        return [.. stream.Documents.Select(document => (JsonObject)ToJson(document.RootNode)!)];
    }

    private static async Task<JsonSchema> SchemaAsync(string kind)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Schemas", "kubernetes-strict.json"), TestContext.Current.CancellationToken);
        var schema = JsonNode.Parse(text)!.AsObject();
        schema["$ref"] = schema["kinds"]![kind]!.ToString();
        return await JsonSchema.FromJsonAsync(schema.ToJsonString(), TestContext.Current.CancellationToken);
    }

    // YAML as the API server reads it: a plain scalar is a number, a boolean or null when it reads as one, else a
    // string; a quoted one is always a string.
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(pair => KeyValuePair.Create(((YamlScalarNode)pair.Key).Value!, ToJson(pair.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } scalar => JsonValue.Create(scalar.Value == "true"),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "null" or "~" or "" } => null,
        YamlScalarNode { Style: ScalarStyle.Plain } scalar when long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException($"Unexpected YAML node {node.NodeType}."),
    };

    private static string Kind(JsonNode document) => document["kind"]!.ToString();

    private static string Name(JsonNode document) => document["metadata"]!["name"]!.ToString();

    private static IEnumerable<JsonNode> Items(JsonNode? list) => list?.AsArray().OfType<JsonNode>() ?? [];

    private static IEnumerable<string> Names(JsonNode? list) => Items(list).Select(item => item["name"]!.ToString());

    private static IEnumerable<string> Keys(JsonNode? map) => map?.AsObject().Select(pair => pair.Key) ?? [];

    private static HashSet<string> Labels(JsonNode? labels) => [.. labels?.AsObject().Select(pair => $"{pair.Key}={pair.Value}") ?? []];

    public void Dispose() => Directory.Delete(_output, recursive: true);
}
