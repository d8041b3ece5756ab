using System.Text.Json.Serialization;
using ChatBackend.ApiService.Data;

namespace ChatBackend.ApiService.Apis;

/// <summary>An API key in the list: what tells it apart, never the key.</summary>
public sealed record ApiKeyItem(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("last_used_at")] DateTime? LastUsedAt)
{
    public static ApiKeyItem From(ApiKeyRecord record) =>
        new(record.Id, record.Name, record.Prefix, record.CreatedAt, record.LastUsedAt);
}

/// <summary>A key just made: its record and, this once, the key itself (only its hash is kept).</summary>
public sealed record CreatedApiKey(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("key")] string Key);

/// <summary>The user's API keys, oldest first.</summary>
public sealed record ApiKeyListResponse([property: JsonPropertyName("data")] IReadOnlyList<ApiKeyItem> Data);

/// <summary>The fields of POST /api-keys, documented for OpenAPI.</summary>
public sealed record CreateApiKeyBody(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("user_id")] long UserId);
