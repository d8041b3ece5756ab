using System.Text;
using System.Text.RegularExpressions;
using ChatBackend.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace ChatBackend.Tests.AppHost;

/// <summary>The Docker Compose and Kubernetes targets, run as the AppHost's own process as a deployer does, their YAML read back.</summary>
[Trait("Category", "AppHost")]
public sealed partial class DeploymentTargetTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("chatbackend-publish-").FullName;

    [Fact]
    public async Task ComposeHasEveryServiceInOrderWithHealthChecksAVolumeAndOnlyTheApiPublished()
    {
        var directory = Path.Combine(_output, "compose");
        await AppHostPublisher.PublishAsync("docker-compose", directory);

        var compose = Load(Path.Combine(directory, "docker-compose.yaml"));
        var services = Map(compose, "services");
        Assert.Equal(["mysql", "migrator", "apiservice"], services.Children.Keys.Select(key => key.ToString()));

        var mysql = Map(services, "mysql");
        Assert.Equal("${MYSQL_IMAGE}", Text(mysql, "image"));
        Assert.Contains("mysqladmin ping", Seq(Map(mysql, "healthcheck"), "test").Children.Last().ToString());
        var volume = Seq(mysql, "volumes").Children.Single().ToString().Split(':')[0];
        Assert.True(Map(compose, "volumes").Children.ContainsKey(new YamlScalarNode(volume)), $"{volume} is not declared.");
        Assert.False(mysql.Children.ContainsKey(new YamlScalarNode("ports")), "MySQL must not be published on the host.");

        var migrator = Map(services, "migrator");
        Assert.Equal("${MIGRATOR_IMAGE}", Text(migrator, "image"));
        Assert.Equal("service_healthy", Text(Map(Map(migrator, "depends_on"), "mysql"), "condition"));
        Assert.Equal("no", Text(migrator, "restart"));
        Assert.False(migrator.Children.ContainsKey(new YamlScalarNode("ports")));

        var api = Map(services, "apiservice");
        Assert.Equal("${APISERVICE_IMAGE}", Text(api, "image"));
        Assert.Equal("service_completed_successfully", Text(Map(Map(api, "depends_on"), "migrator"), "condition"));
        Assert.Equal("${APISERVICE_PORT}:8080", Seq(api, "ports").Children.Single().ToString());
        Assert.Contains("GET /health", Seq(Map(api, "healthcheck"), "test").Children.Last().ToString());
        var environment = Map(api, "environment");
        Assert.Equal("Server=mysql;Port=3306;User ID=root;Password=${MYSQL_PASSWORD};Database=chatdb", Text(environment, "ConnectionStrings__chatdb"));
        Assert.Equal("${OPENAI}", Text(environment, "ConnectionStrings__openai"));
        Assert.Equal("8080", Text(environment, "HTTP_PORTS"));
        Assert.Equal("mysql", Text(environment, "CHATDB_HOST"));
        Assert.Equal("${MYSQL_PASSWORD}", Text(environment, "CHATDB_PASSWORD"));
        Assert.Equal("${MYSQL_PASSWORD}", Text(Map(mysql, "environment"), "MYSQL_ROOT_PASSWORD"));
        // The AppHost's bearer scheme: each setting a variable of its own, never its value.
        Assert.Equal("${BEARER_VALIDISSUER}", Text(environment, "Authentication__Schemes__Bearer__ValidIssuer"));
        Assert.Equal("${BEARER_VALIDAUDIENCES_0}", Text(environment, "Authentication__Schemes__Bearer__ValidAudiences__0"));
        Assert.Equal("${BEARER_SIGNINGKEYS_0_VALUE}", Text(environment, "Authentication__Schemes__Bearer__SigningKeys__0__Value"));
    }

    [Fact]
    public async Task ComposeEnvFileDeclaresEveryVariableWithACommentAndParametersEmpty()
    {
        var directory = Path.Combine(_output, "compose");
        await AppHostPublisher.PublishAsync("docker-compose", directory);

        var yaml = await File.ReadAllTextAsync(Path.Combine(directory, "docker-compose.yaml"), TestContext.Current.CancellationToken);
        var lines = await File.ReadAllLinesAsync(Path.Combine(directory, ".env"), TestContext.Current.CancellationToken);
        var declared = lines.Where(line => !line.StartsWith('#')).Select(line => line.Split('=', 2)).ToDictionary(parts => parts[0], parts => parts[1]);

        var used = Variable().Matches(yaml).Select(match => match.Groups[1].Value).Where(name => !name.StartsWith('$')).ToHashSet();
        Assert.Equal(used.Order(), declared.Keys.Order());
        Assert.Equal("", declared["MYSQL_PASSWORD"]);
        Assert.Equal("", declared["OPENAI"]);
        Assert.Equal("chatbackend-apiservice:latest", declared["APISERVICE_IMAGE"]);
        Assert.Equal("docker.io/library/mysql:9.7", declared["MYSQL_IMAGE"]);
        for (var i = 0; i < lines.Length; i += 2)
        {
            Assert.StartsWith("# ", lines[i]);
            Assert.Contains('=', lines[i + 1]);
        }
    }

    [Fact]
    public async Task KubernetesRunsTheApiAsAScaledDeploymentAfterTheMigratorWithProbesLimitsAndSecretReferences()
    {
        var directory = Path.Combine(_output, "k8s");
        await AppHostPublisher.PublishAsync("kubernetes", directory);

        Assert.Equal(["apiservice.yaml", "kustomization.yaml", "migrator.yaml", "mysql.yaml", "secrets.env"], AppHostPublisher.Files(directory).Keys);
        var api = LoadAll(Path.Combine(directory, "apiservice.yaml"));
        var deployment = api.Single(document => Text(document, "kind") == "Deployment");
        var spec = Map(deployment, "spec");
        Assert.True(int.Parse(Text(spec, "replicas"), System.Globalization.CultureInfo.InvariantCulture) >= 2);
        var pod = Map(Map(spec, "template"), "spec");
        var container = (YamlMappingNode)Seq(pod, "containers").Children.Single();
        Assert.Equal("/health", Text(Map(Map(container, "readinessProbe"), "httpGet"), "path"));
        Assert.Equal("/alive", Text(Map(Map(container, "livenessProbe"), "httpGet"), "path"));
        Assert.True(Map(container, "resources").Children.ContainsKey(new YamlScalarNode("requests")));
        Assert.True(Map(container, "resources").Children.ContainsKey(new YamlScalarNode("limits")));
        var init = (YamlMappingNode)Seq(pod, "initContainers").Children.Single();
        Assert.Equal("chatbackend-migrator:latest", Text(init, "image"));
        Assert.Contains(api, document => Text(document, "kind") == "Service");

        var env = Seq(container, "env").Children.Cast<YamlMappingNode>().ToList();
        var password = env.Single(variable => Text(variable, "name") == "MYSQL_PASSWORD");
        Assert.Equal("mysql-password", Text(Map(Map(password, "valueFrom"), "secretKeyRef"), "key"));
        Assert.True(env.IndexOf(password) < env.FindIndex(variable => Text(variable, "name") == "ConnectionStrings__chatdb"),
            "$(MYSQL_PASSWORD) expands only from a variable defined before it.");
        Assert.Contains("Password=$(MYSQL_PASSWORD)", Text(env.Single(variable => Text(variable, "name") == "ConnectionStrings__chatdb"), "value"));

        var job = LoadAll(Path.Combine(directory, "migrator.yaml")).Single();
        Assert.Equal("Job", Text(job, "kind"));
        var mysql = LoadAll(Path.Combine(directory, "mysql.yaml"));
        var statefulSet = mysql.Single(document => Text(document, "kind") == "StatefulSet");
        Assert.Equal("/var/lib/mysql", Text((YamlMappingNode)Seq((YamlMappingNode)Seq(Map(Map(Map(statefulSet, "spec"), "template"), "spec"), "containers").Children.Single(), "volumeMounts").Children.Single(), "mountPath"));
        Assert.Single(Seq(Map(statefulSet, "spec"), "volumeClaimTemplates").Children);
    }

    [Fact]
    public async Task KubernetesSecretsComeFromAFileTheDeployerFillsThroughKustomize()
    {
        var directory = Path.Combine(_output, "k8s");
        await AppHostPublisher.PublishAsync("kubernetes", directory);

        var kustomization = Load(Path.Combine(directory, "kustomization.yaml"));
        Assert.Equal(["mysql.yaml", "migrator.yaml", "apiservice.yaml"], Seq(kustomization, "resources").Children.Select(node => node.ToString()));
        var generator = (YamlMappingNode)Seq(kustomization, "secretGenerator").Children.Single();
        Assert.Equal("chatbackend-secrets", Text(generator, "name"));
        Assert.Equal("secrets.env", Seq(generator, "envs").Children.Single().ToString());
        var keys = (await File.ReadAllLinesAsync(Path.Combine(directory, "secrets.env"), TestContext.Current.CancellationToken))
            .Where(line => !line.StartsWith('#')).Select(line => line.Split('=', 2)).ToDictionary(parts => parts[0], parts => parts[1]);
        Assert.Equal(
            ["bearer-signingkeys-0-issuer", "bearer-signingkeys-0-value", "bearer-validaudiences-0", "bearer-validissuer", "chat-models-0", "mysql-password", "openai"],
            keys.Keys.Order());
        Assert.All(keys.Values, value => Assert.Equal("", value));
        // Every key a pod reads is one the file declares.
        var referenced = SecretKey().Matches(string.Concat(AppHostPublisher.Files(directory).Values.Select(Encoding.UTF8.GetString)))
            .Select(match => match.Groups[1].Value).ToHashSet();
        Assert.Equal(keys.Keys.Order(), referenced.Order());
    }

    [Fact]
    public async Task AspirePublishWritesBothTargetsIntoTheirOwnFolders()
    {
        var start = AppHostProcess.StartInfo();
        foreach (var argument in new[] { "--operation", "publish", "--step", "publish", "--output-path", _output })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);

        Assert.True(process.ExitCode == 0, await output + await errors);
        Assert.True(File.Exists(Path.Combine(_output, "docker-compose", "docker-compose.yaml")));
        Assert.True(File.Exists(Path.Combine(_output, "kubernetes", "kustomization.yaml")));
    }

    [Fact]
    public async Task AnExistingDatabaseIsARequiredConnectionStringParameterAndNoMySqlIsDeployed()
    {
        string[] setting = ["--AppHost:ExternalDatabase=true"];
        await AppHostPublisher.PublishAsync("docker-compose", Path.Combine(_output, "compose"), setting);
        await AppHostPublisher.PublishAsync("kubernetes", Path.Combine(_output, "k8s"), setting);

        var compose = Load(Path.Combine(_output, "compose", "docker-compose.yaml"));
        var services = Map(compose, "services");
        Assert.Equal(["migrator", "apiservice"], services.Children.Keys.Select(key => key.ToString()));
        Assert.Equal("${CHATDB}", Text(Map(Map(services, "apiservice"), "environment"), "ConnectionStrings__chatdb"));
        Assert.False(Map(services, "migrator").Children.ContainsKey(new YamlScalarNode("depends_on")), "Nothing the deployment runs is waited for.");
        Assert.Contains("CHATDB=", await File.ReadAllLinesAsync(Path.Combine(_output, "compose", ".env"), TestContext.Current.CancellationToken));

        Assert.Equal(["apiservice.yaml", "kustomization.yaml", "migrator.yaml", "secrets.env"], AppHostPublisher.Files(Path.Combine(_output, "k8s")).Keys);
        var secrets = await File.ReadAllLinesAsync(Path.Combine(_output, "k8s", "secrets.env"), TestContext.Current.CancellationToken);
        Assert.Contains("# chatdb", secrets);
        Assert.Contains("# openai (may stay empty)", secrets);
        var deployment = LoadAll(Path.Combine(_output, "k8s", "apiservice.yaml")).Single(document => Text(document, "kind") == "Deployment");
        var container = (YamlMappingNode)Seq(Map(Map(Map(deployment, "spec"), "template"), "spec"), "containers").Children.Single();
        var env = Seq(container, "env").Children.Cast<YamlMappingNode>().ToList();
        Assert.Equal("$(CHATDB)", Text(env.Single(variable => Text(variable, "name") == "ConnectionStrings__chatdb"), "value"));
        var secret = Map(Map(env.Single(variable => Text(variable, "name") == "CHATDB"), "valueFrom"), "secretKeyRef");
        Assert.Equal(("chatdb", "false"), (Text(secret, "key"), Text(secret, "optional")));
    }

    [Fact]
    public async Task TheMySqlImageIsASettingThatComposeKubernetesAndTheManifestWrite()
    {
        const string image = "registry.example.com/library/mariadb:11.8";
        string[] setting = [$"--AppHost:MySqlImage={image}"];
        await AppHostPublisher.PublishAsync("docker-compose", Path.Combine(_output, "compose"), setting);
        await AppHostPublisher.PublishAsync("kubernetes", Path.Combine(_output, "k8s"), setting);
        await AppHostPublisher.PublishAsync("manifest", Path.Combine(_output, "aspire-manifest.json"), setting);

        var env = await File.ReadAllLinesAsync(Path.Combine(_output, "compose", ".env"), TestContext.Current.CancellationToken);
        Assert.Contains($"MYSQL_IMAGE={image}", env);
        var statefulSet = LoadAll(Path.Combine(_output, "k8s", "mysql.yaml")).Single(document => Text(document, "kind") == "StatefulSet");
        Assert.Equal(image, Text((YamlMappingNode)Seq(Map(Map(Map(statefulSet, "spec"), "template"), "spec"), "containers").Children.Single(), "image"));
        using var manifest = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_output, "aspire-manifest.json"), TestContext.Current.CancellationToken));
        Assert.Equal(image, manifest.RootElement.GetProperty("resources").GetProperty("mysql").GetProperty("image").GetString());
    }

    [Theory]
    [InlineData("docker-compose")]
    [InlineData("kubernetes")]
    public async Task TheOutputHoldsNoSecretAndIsTheSameEveryTime(string publisher)
    {
        await AppHostPublisher.PublishAsync(publisher, Path.Combine(_output, "first"));
        await AppHostPublisher.PublishAsync(publisher, Path.Combine(_output, "second"));

        var first = AppHostPublisher.Files(Path.Combine(_output, "first"));
        var second = AppHostPublisher.Files(Path.Combine(_output, "second"));
        Assert.Equal(first.Keys, second.Keys);
        Assert.All(first, file => Assert.Equal(file.Value, second[file.Key]));
        Assert.All(first.Values.Select(Encoding.UTF8.GetString), text =>
            Assert.All(AppHostPublisher.Secrets, secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal)));
    }

    private static YamlMappingNode Load(string path) => LoadAll(path).Single();

    private static List<YamlMappingNode> LoadAll(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return [.. stream.Documents.Select(document => (YamlMappingNode)document.RootNode)];
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node[key];

    private static YamlSequenceNode Seq(YamlMappingNode node, string key) => (YamlSequenceNode)node[key];

    private static string Text(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [GeneratedRegex(@"\$\{([A-Z0-9_$]+)\}")]
    private static partial Regex Variable();

    [GeneratedRegex(@"key: ([a-z0-9-]+)")]
    private static partial Regex SecretKey();
}
