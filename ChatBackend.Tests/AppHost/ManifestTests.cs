using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ChatBackend.AppHost;
using ChatBackend.Tests.Infrastructure;
using NJsonSchema;

namespace ChatBackend.Tests.AppHost;

/// <summary>
/// <c>dotnet run --project ChatBackend.AppHost -- --publisher manifest --output-path F</c> (Aspire's own manifest
/// step), run as its own process from the AppHost's build output, and its manifest checked against Aspire's schema,
/// the entry Aspire.Hosting.MySql writes, and its own references.
/// </summary>
[Trait("Category", "AppHost")]
public sealed partial class ManifestTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("chatbackend-manifest-").FullName;

    [Fact]
    public async Task TheManifestSatisfiesAspiresSchema()
    {
        var json = await PublishAsync("aspire-manifest.json");

        var schema = await JsonSchema.FromJsonAsync(WithoutBooleanSchemas(
            await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Schemas", "aspire-8.0.schema.json"), TestContext.Current.CancellationToken)), TestContext.Current.CancellationToken);
        var errors = schema.Validate(json);

        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(error => error.ToString())));
    }

    [Fact]
    public async Task TheManifestDescribesTheAppModel()
    {
        using var document = JsonDocument.Parse(await PublishAsync("aspire-manifest.json"));
        var resources = document.RootElement.GetProperty("resources");

        Assert.Equal(
            ["mysql", "chatdb", "migrator", "apiservice", "bearer-signingkeys-0-issuer", "bearer-signingkeys-0-value",
                "bearer-validaudiences-0", "bearer-validissuer", "chat-models-0", "openai", "mysql-password", "mysql-password-uri-encoded"],
            resources.EnumerateObject().Select(resource => resource.Name));
        var mysql = resources.GetProperty("mysql");
        Assert.Equal("container.v0", mysql.GetProperty("type").GetString());
        Assert.Equal("docker.io/library/mysql:9.7", mysql.GetProperty("image").GetString());
        Assert.Equal("{mysql-password.value}", mysql.GetProperty("env").GetProperty("MYSQL_ROOT_PASSWORD").GetString());
        Assert.Equal(3306, mysql.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        Assert.Equal("/var/lib/mysql", mysql.GetProperty("volumes")[0].GetProperty("target").GetString());
        Assert.Equal("{mysql.connectionString};Database=chatdb", resources.GetProperty("chatdb").GetProperty("connectionString").GetString());
        Assert.Equal("Server={mysql.bindings.tcp.host};Port={mysql.bindings.tcp.port};User ID=root;Password={mysql-password.value}",
            mysql.GetProperty("connectionString").GetString());

        var api = resources.GetProperty("apiservice");
        Assert.Equal("project.v0", api.GetProperty("type").GetString());
        Assert.True(api.GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
        Assert.Equal("{chatdb.connectionString}", api.GetProperty("env").GetProperty("ConnectionStrings__chatdb").GetString());
        Assert.Equal("{openai.connectionString}", api.GetProperty("env").GetProperty("ConnectionStrings__openai").GetString());
        Assert.Equal("{mysql.bindings.tcp.host}", api.GetProperty("env").GetProperty("CHATDB_HOST").GetString());
        Assert.Equal("chatdb", api.GetProperty("env").GetProperty("CHATDB_DATABASENAME").GetString());
        Assert.False(resources.GetProperty("migrator").TryGetProperty("bindings", out _), "A worker without an application URL has no bindings.");
        foreach (var project in new[] { "migrator", "apiservice" })
        {
            var path = resources.GetProperty(project).GetProperty("path").GetString()!;
            Assert.True(File.Exists(Path.Combine(_output, path)), $"{project}: {path} is not a project file relative to the manifest.");
            // Run-mode details stay out of a manifest.
            Assert.False(resources.GetProperty(project).GetProperty("env").TryGetProperty("OTEL_SERVICE_NAME", out _));
        }
        Assert.True(resources.GetProperty("mysql-password").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        // The AppHost's bearer scheme reaches the API as parameters; a signing key's value is a secret, none has a default.
        Assert.Equal("{bearer-signingkeys-0-value.value}",
            api.GetProperty("env").GetProperty("Authentication__Schemes__Bearer__SigningKeys__0__Value").GetString());
        Assert.Equal("{bearer-validaudiences-0.value}",
            api.GetProperty("env").GetProperty("Authentication__Schemes__Bearer__ValidAudiences__0").GetString());
        var signingKey = resources.GetProperty("bearer-signingkeys-0-value");
        Assert.True(signingKey.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        Assert.False(signingKey.GetProperty("inputs").GetProperty("value").TryGetProperty("default", out _));
        Assert.False(resources.GetProperty("bearer-validissuer").GetProperty("inputs").GetProperty("value").TryGetProperty("default", out _));
        // So do the models /v1/responses may name.
        Assert.Equal("{chat-models-0.value}", api.GetProperty("env").GetProperty("Chat__Models__0").GetString());
    }

    [Fact]
    public async Task EveryPlaceholderNamesAResourceAndBindingThatExist()
    {
        using var document = JsonDocument.Parse(await PublishAsync("aspire-manifest.json"));
        var resources = document.RootElement.GetProperty("resources");

        var placeholders = Placeholder().Matches(document.RootElement.GetRawText()).Select(match => match.Groups[1].Value).Distinct().ToList();

        Assert.NotEmpty(placeholders);
        foreach (var placeholder in placeholders)
        {
            var parts = placeholder.Split('.');
            Assert.True(resources.TryGetProperty(parts[0], out var resource), $"{{{placeholder}}} names no resource.");
            switch (parts[1])
            {
                case "bindings":
                    Assert.True(resource.TryGetProperty("bindings", out var bindings) && bindings.TryGetProperty(parts[2], out _),
                        $"{{{placeholder}}} names no binding of {parts[0]}.");
                    break;
                case "connectionString":
                    Assert.True(resource.TryGetProperty("connectionString", out _), $"{parts[0]} has no connection string.");
                    break;
                case "value":
                    Assert.True(resource.TryGetProperty("value", out _), $"{parts[0]} has no value.");
                    break;
                case "inputs":
                    Assert.True(resource.TryGetProperty("inputs", out _), $"{parts[0]} has no inputs.");
                    break;
                default:
                    Assert.Fail($"Unexpected placeholder {{{placeholder}}}.");
                    break;
            }
        }
    }

    [Fact]
    public async Task TheManifestHoldsNoSecretAndIsTheSameEveryTime()
    {
        var first = await PublishAsync("first.json");
        var second = await PublishAsync("second.json");

        Assert.Equal(first, second);
        Assert.All(AppHostPublisher.Secrets, secret => Assert.DoesNotContain(secret, first, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheAppHostsMcpServersReachTheApiAsParametersTheirHeadersSecret()
    {
        const string header = "mcp-header-that-must-not-leak";
        var json = await PublishAsync("tools.json", new Dictionary<string, string>
        {
            ["Tools__Mcp__Servers__docs__Url"] = "https://mcp.example.com/mcp",
            ["Tools__Mcp__Servers__docs__Headers__Authorization"] = header,
        });
        using var document = JsonDocument.Parse(json);
        var resources = document.RootElement.GetProperty("resources");
        var env = resources.GetProperty("apiservice").GetProperty("env");

        Assert.Equal("{tools-mcp-servers-docs-url.value}", env.GetProperty("Tools__Mcp__Servers__docs__Url").GetString());
        Assert.Equal("{tools-mcp-servers-docs-headers-authorization.value}", env.GetProperty("Tools__Mcp__Servers__docs__Headers__Authorization").GetString());
        var secret = resources.GetProperty("tools-mcp-servers-docs-headers-authorization").GetProperty("inputs").GetProperty("value");
        Assert.True(secret.GetProperty("secret").GetBoolean());
        Assert.False(secret.TryGetProperty("default", out _));
        Assert.DoesNotContain(header, json);
    }

    [Fact]
    public async Task AnMcpServerOfTheAppModelReachesTheApiByReference()
    {
        var builder = DistributedApplication.CreateBuilder(["--publisher", "manifest", "--output-path", Path.Combine(_output, "reference.json")]);
        var docs = builder.AddContainer("docs-mcp", "example/docs-mcp").WithHttpEndpoint(targetPort: 8080);
        var search = builder.AddConnectionString("mcp-search");
        var api = builder.AddProject<Projects.ChatBackend_ApiService>("apiservice")
            .WithMcpServer("docs", docs)
            .WithMcpServer("search", search);

        // The API's environment as a manifest writes it: each value's expression.
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Publish));
        foreach (var callback in api.Resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }
        string Expression(string name) => context.EnvironmentVariables[name] is IManifestExpressionProvider provider
            ? provider.ValueExpression
            : context.EnvironmentVariables[name].ToString()!;

        Assert.Equal("{docs-mcp.bindings.http.url}/mcp", Expression("Tools__Mcp__Servers__docs__Url"));
        Assert.Equal("{mcp-search.connectionString}", Expression("Tools__Mcp__Servers__search__Url"));
    }

    private async Task<string> PublishAsync(string fileName, IReadOnlyDictionary<string, string>? environment = null)
    {
        var path = Path.Combine(_output, fileName);
        await AppHostPublisher.PublishAsync("manifest", path, environment ?? new Dictionary<string, string>());
        return await File.ReadAllTextAsync(path);
    }

    // NJsonSchema reads neither boolean schemas ("build": false under properties) nor "const" (draft-06), which the
    // schema uses to tell its resource types apart. They are rewritten to what draft-07 defines them as: {} (true),
    // {"not": {}} (false), and "enum" with the one value.
    private static string WithoutBooleanSchemas(string schema)
    {
        static JsonNode? Rewrite(JsonNode? node, bool isSchema) => node switch
        {
            JsonValue value when isSchema && value.TryGetValue<bool>(out var accepts) => accepts ? new JsonObject() : new JsonObject { ["not"] = new JsonObject() },
            JsonObject obj => new JsonObject(obj.Select(property => property.Key == "const"
                ? KeyValuePair.Create<string, JsonNode?>("enum", new JsonArray(property.Value?.DeepClone()))
                : KeyValuePair.Create(property.Key, Rewrite(property.Value,
                    property.Key is "additionalProperties" or "items" or "not" || obj.Parent is JsonObject parent && IsSchemaMap(parent, obj))))),
            JsonArray array => new JsonArray([.. array.Select(item => Rewrite(item, isSchema: true))]),
            _ => node?.DeepClone(),
        };
        static bool IsSchemaMap(JsonObject parent, JsonObject map) =>
            parent.Any(property => ReferenceEquals(property.Value, map) && property.Key is "properties" or "definitions" or "patternProperties");
        return Rewrite(JsonNode.Parse(schema), isSchema: true)!.ToJsonString();
    }

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [GeneratedRegex(@"\{([A-Za-z0-9-]+\.[A-Za-z0-9.-]+)\}")]
    private static partial Regex Placeholder();
}
