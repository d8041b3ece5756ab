using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Marks an endpoint that honours the Idempotency-Key header, so that the OpenAPI document lists it (the binding is
/// custom, so the generator cannot see it).
/// </summary>
public sealed class IdempotencyKeyMetadata
{
    public static IdempotencyKeyMetadata Instance { get; } = new();

    private IdempotencyKeyMetadata()
    {
    }

    public static Task AddHeaderParameter(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IdempotencyKeyMetadata>().Any())
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = FieldNames.IdempotencyKeyHeader,
                In = ParameterLocation.Header,
                Required = false,
                Description =
                    "1-255 printable ASCII characters, quoted or not. The same key from the same user within 24 hours " +
                    "returns the same turn (also for a first send); with a different request it is a 422, and while " +
                    "the first is still being answered a 409.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }
        return Task.CompletedTask;
    }
}
