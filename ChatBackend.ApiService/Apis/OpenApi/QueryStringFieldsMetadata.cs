using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// Marks an endpoint whose body fields may also come in the query string, so that the OpenAPI document lists them as
/// query parameters too (the binding is custom, so the generator cannot see them).
/// </summary>
public sealed class QueryStringFieldsMetadata(params string[] fields)
{
    /// <summary>The fields of a send: message, user_id, message_id, message_count, conversation_id, model.</summary>
    public static QueryStringFieldsMetadata Send { get; } = new(
        FieldNames.Message, FieldNames.UserId, FieldNames.MessageId,
        FieldNames.MessageCount, FieldNames.ConversationId, FieldNames.Model);

    private static readonly Dictionary<string, (JsonSchemaType Type, string Description)> Descriptions = new()
    {
        [FieldNames.Message] = (JsonSchemaType.String, "The user's message (when not in the body)."),
        [FieldNames.UserId] = (JsonSchemaType.Integer, "The user's id, at least 1 (when not in the body)."),
        [FieldNames.MessageId] = (JsonSchemaType.String, "The client's id for this message: 1-64 of [A-Za-z0-9._:-]; the idempotency key."),
        [FieldNames.MessageCount] = (JsonSchemaType.Integer, "Accepted for compatibility with old clients; not used for numbering."),
        [FieldNames.ConversationId] = (JsonSchemaType.String, "Empty to start a conversation; otherwise one of this user's."),
        [FieldNames.Model] = (JsonSchemaType.String, "One of Chat:Models (GET /v1/models); left out, the configured model."),
    };

    public static Task AddQueryParameters(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryStringFieldsMetadata>().FirstOrDefault() is not { } metadata)
        {
            return Task.CompletedTask;
        }

        operation.Parameters ??= [];
        foreach (var field in metadata.Fields)
        {
            var (type, description) = Descriptions[field];
            operation.Parameters.Add(Parameter(field, type, description));
        }
        return Task.CompletedTask;
    }

    public IReadOnlyList<string> Fields { get; } = fields;

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
