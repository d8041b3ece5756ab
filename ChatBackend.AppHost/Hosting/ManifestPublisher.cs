using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>
/// Writes the model as Aspire 8.0-13.1 writes <c>aspire-manifest.json</c> (ASPIRE.md §5): the deployment tools' input
/// (azd reads it). Run-mode details stay out of it: waits, health checks, OTLP endpoints, URLs. Secrets appear only as
/// placeholders of parameters that the deployment tool fills in.
/// </summary>
public sealed class ManifestPublisher(DistributedApplicationModel model, IConfiguration configuration)
{
    public const string SchemaUrl = "https://json.schemastore.org/aspire-8.0.json";

    private readonly List<(string Name, Action<Utf8JsonWriter> Write)> _generated = [];

    /// <summary>Writes the manifest to <paramref name="path"/>; project paths are relative to its folder.</summary>
    public async Task PublishAsync(string path, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        await using var stream = File.Create(path);
        await using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("$schema", SchemaUrl);
            json.WriteStartObject("resources");
            foreach (var resource in model.Resources)
            {
                json.WriteStartObject(resource.Name);
                switch (resource)
                {
                    case MySqlServerResource server:
                        WriteMySql(json, server);
                        break;
                    case MySqlDatabaseResource database:
                        json.WriteString("type", "value.v0");
                        json.WriteString("connectionString", $"{{{database.Parent.Name}.connectionString}};Database={database.DatabaseName}");
                        break;
                    case ProjectResource project:
                        WriteProject(json, project, directory);
                        break;
                    case ConnectionStringResource connection:
                        WriteParameter(json, connection.Name, isConnectionString: true, generate: false);
                        break;
                }
                json.WriteEndObject();
            }
            // Referenced but not added by the model (generated passwords and their projections) come last.
            foreach (var (name, write) in _generated.DistinctBy(generated => generated.Name))
            {
                json.WriteStartObject(name);
                write(json);
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken);
    }

    private void WriteMySql(Utf8JsonWriter json, MySqlServerResource server)
    {
        var password = PasswordParameter(server);
        json.WriteString("type", "container.v0");
        json.WriteString("connectionString", MySqlServerResource.ServerConnectionString(
            $"{{{server.Name}.bindings.tcp.host}}", $"{{{server.Name}.bindings.tcp.port}}", $"{{{password}.value}}"));
        json.WriteString("image", $"{MySqlServerResource.Image}:{MySqlServerResource.Tag}");
        if (server.HasDataVolume)
        {
            json.WriteStartArray("volumes");
            json.WriteStartObject();
            json.WriteString("name", VolumeName(server));
            json.WriteString("target", "/var/lib/mysql");
            json.WriteBoolean("readOnly", false);
            json.WriteEndObject();
            json.WriteEndArray();
        }
        json.WriteStartObject("env");
        json.WriteString("MYSQL_ROOT_PASSWORD", $"{{{password}.value}}");
        json.WriteEndObject();
        json.WriteStartObject("bindings");
        WriteBinding(json, "tcp", "tcp", "tcp", MySqlServerResource.TargetPort, external: false);
        json.WriteEndObject();
    }

    private void WriteProject(Utf8JsonWriter json, ProjectResource project, string manifestDirectory)
    {
        json.WriteString("type", "project.v0");
        json.WriteString("path", Path.GetRelativePath(manifestDirectory, project.Metadata.ProjectPath).Replace('\\', '/'));
        var schemes = LaunchProfile.For(project, configuration)?.ApplicationUrls.Select(url => url.Scheme).Distinct().ToList() ?? [];

        json.WriteStartObject("env");
        json.WriteString("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES", "true");
        json.WriteString("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES", "true");
        json.WriteString("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "in_memory");
        if (schemes.Count > 0)
        {
            json.WriteString("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "true");
        }
        if (schemes.Contains(Uri.UriSchemeHttp))
        {
            json.WriteString("HTTP_PORTS", $"{{{project.Name}.bindings.http.targetPort}}");
        }
        foreach (var reference in project.References)
        {
            json.WriteString($"ConnectionStrings__{reference.Name}", $"{{{reference.Name}.connectionString}}");
            if (reference is MySqlDatabaseResource database)
            {
                WriteDatabaseProperties(json, database);
            }
        }
        foreach (var (name, value) in project.Environment.OrderBy(variable => variable.Key, StringComparer.Ordinal))
        {
            json.WriteString(name, value);
        }
        json.WriteEndObject();

        if (schemes.Count > 0)
        {
            json.WriteStartObject("bindings");
            foreach (var scheme in schemes)
            {
                WriteBinding(json, scheme, scheme, "http", targetPort: null, project.ExternalHttpEndpoints);
            }
            json.WriteEndObject();
        }
    }

    // The connection properties (13.0+), as placeholders; the URI takes the password through a uri filter.
    private void WriteDatabaseProperties(Utf8JsonWriter json, MySqlDatabaseResource database)
    {
        var server = database.Parent.Name;
        var password = PasswordParameter(database.Parent);
        var uriPassword = $"{password}-uri-encoded";
        _generated.Add((uriPassword, writer =>
        {
            writer.WriteString("type", "annotated.string");
            writer.WriteString("value", $"{{{password}.value}}");
            writer.WriteString("filter", "uri");
        }));
        foreach (var (property, value) in MySqlServerResource.PropertiesOf(
            $"{{{server}.bindings.tcp.host}}", $"{{{server}.bindings.tcp.port}}", "root", $"{{{password}.value}}",
            $"{{{uriPassword}.value}}", database.DatabaseName))
        {
            json.WriteString($"{EnvironmentNames.Of(database.Name)}_{property}", value);
        }
    }

    // The server's generated password: a secret parameter of at least 22 characters (CreateDefaultPasswordParameter).
    private string PasswordParameter(MySqlServerResource server)
    {
        var name = $"{server.Name}-password";
        _generated.Add((name, writer => WriteParameter(writer, name, isConnectionString: false, generate: true)));
        return name;
    }

    private static void WriteParameter(Utf8JsonWriter json, string name, bool isConnectionString, bool generate)
    {
        json.WriteString("type", "parameter.v0");
        if (isConnectionString)
        {
            json.WriteString("connectionString", $"{{{name}.value}}");
        }
        json.WriteString("value", $"{{{name}.inputs.value}}");
        json.WriteStartObject("inputs");
        json.WriteStartObject("value");
        json.WriteString("type", "string");
        json.WriteBoolean("secret", true);
        if (generate)
        {
            json.WriteStartObject("default");
            json.WriteStartObject("generate");
            json.WriteNumber("minLength", 22);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteBinding(Utf8JsonWriter json, string name, string scheme, string transport, int? targetPort, bool external)
    {
        json.WriteStartObject(name);
        json.WriteString("scheme", scheme);
        json.WriteString("protocol", "tcp");
        json.WriteString("transport", transport);
        if (targetPort is { } port)
        {
            json.WriteNumber("targetPort", port);
        }
        if (external)
        {
            json.WriteBoolean("external", true);
        }
        json.WriteEndObject();
    }

    // Aspire's VolumeNameGenerator: {application}-{10 hex of a SHA-256}-{resource}-data. The hash here is of the
    // application's name, not of its folder, so that the same model gives the same manifest on every machine.
    public static string VolumeName(MySqlServerResource server)
    {
        const string application = "chatbackend.apphost";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(application)))[..10];
        return $"{application}-{hash}-{server.Name}-data";
    }
}
