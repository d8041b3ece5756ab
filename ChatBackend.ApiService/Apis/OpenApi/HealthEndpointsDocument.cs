using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Adds /health and /alive to the OpenAPI document: they are mapped by MapHealthChecks, which the document's
/// generator does not see.
/// </summary>
public static class HealthEndpointsDocument
{
    public static Task Add(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Paths ??= [];
        document.Paths[Microsoft.Extensions.Hosting.Extensions.HealthEndpointPath] = PathItem(
            "Readiness: the process and its database",
            "200 {\"status\":\"Healthy\"} when every check passes; 503 with each check's status when one fails.");
        document.Paths[Microsoft.Extensions.Hosting.Extensions.AlivenessEndpointPath] = PathItem(
            "Liveness: the process is up (no database)",
            "200 {\"status\":\"Healthy\"} while the process serves requests.");
        return Task.CompletedTask;
    }

    private static OpenApiPathItem PathItem(string summary, string description) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new()
            {
                Summary = summary,
                Description = description,
                Tags = new HashSet<OpenApiTagReference> { new("Health") },
                Responses = new OpenApiResponses
                {
                    ["200"] = Response("Healthy", "Healthy"),
                    ["503"] = Response("Unhealthy", "Unhealthy"),
                },
            },
        },
    };

    private static OpenApiResponse Response(string description, string status) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new()
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["status"] = new OpenApiSchema { Type = JsonSchemaType.String },
                        ["checks"] = new OpenApiSchema { Type = JsonSchemaType.Object },
                    },
                },
                Example = new JsonObject { ["status"] = status },
            },
        },
    };
}
