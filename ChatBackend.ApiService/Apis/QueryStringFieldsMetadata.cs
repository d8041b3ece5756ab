using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Marks an endpoint whose <see cref="ChatMessageBody"/> fields may also come in the query string, so that the
/// OpenAPI document lists them as query parameters too (the binding is custom, so the generator cannot see them).
/// </summary>
public sealed class QueryStringFieldsMetadata
{
    public static Task AddQueryParameters(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryStringFieldsMetadata>().Any())
        {
            return Task.CompletedTask;
        }

        operation.Parameters ??= [];
        operation.Parameters.Add(Parameter(ChatMessageInput.MessageField, JsonSchemaType.String, "The user's message (when not in the body)."));
        operation.Parameters.Add(Parameter(ChatMessageInput.UserIdField, JsonSchemaType.Integer, "The user's id, at least 1 (when not in the body)."));
        operation.Parameters.Add(Parameter(ChatMessageInput.MessageIdField, JsonSchemaType.String, "The client's id for this message: 1-64 of [A-Za-z0-9._:-]; the idempotency key."));
        operation.Parameters.Add(Parameter(ChatMessageInput.MessageCountField, JsonSchemaType.Integer, "Accepted for compatibility with old clients; not used for numbering."));
        operation.Parameters.Add(Parameter(ChatMessageInput.ConversationIdField, JsonSchemaType.String, "Empty to start a conversation; otherwise one of this user's."));
        return Task.CompletedTask;
    }

    private static OpenApiParameter Parameter(string name, JsonSchemaType type, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Query,
        Required = false,
        Description = description,
        Schema = new OpenApiSchema { Type = type },
        Example = type == JsonSchemaType.Integer ? JsonValue.Create(1) : null,
    };
}
