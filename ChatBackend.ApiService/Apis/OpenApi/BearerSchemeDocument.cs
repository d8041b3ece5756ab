using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// With a bearer scheme configured, the OpenAPI document declares it (HTTP bearer: a JWT, or an API key) and marks
/// every operation that requires it, so that clients and the interactive page send the token.
/// </summary>
public static class BearerSchemeDocument
{
    public const string SchemeName = "Bearer";

    public static Task AddScheme(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A token of the issuer configured in Authentication:Schemes:Bearer, or an API key (cbk_..., from POST /api-keys).",
        };
        return Task.CompletedTask;
    }

    public static Task MarkOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any())
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = [] });
        }
        return Task.CompletedTask;
    }
}
