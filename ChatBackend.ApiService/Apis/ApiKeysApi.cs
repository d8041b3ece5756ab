using System.Globalization;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// A user's API keys, the long-lived bearer credentials of SDKs and scripts (Authorization: Bearer cbk_...): make one
/// (shown once), list them, revoke one. The key's user is the caller: a token's or a key's user, or without a bearer
/// scheme the user_id the request names.
/// </summary>
public static class ApiKeysApi
{
    /// <summary>The longest name of a key, in characters (code points).</summary>
    public const int NameMaxLength = 100;

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        var app = routes.MapGroup("/api-keys").WithTags("API keys");
        app.MapPost("", CreateAsync)
            .WithName("CreateApiKey")
            .WithSummary("Make an API key for the caller; the key is in this response and nowhere else")
            .WithDescription(
                "{\"name\": \"...\"}: optional, at most 100 characters. The key (cbk_ and 43 letters and digits) acts as " +
                "its user on every endpoint, sent as Authorization: Bearer; only its hash is stored, so it cannot be " +
                "shown again. Without a bearer scheme the key is for the user_id the request names (body or query). " +
                "A user may hold 100 keys; a 409 past that.")
            .Accepts<CreateApiKeyBody>("application/json", "application/x-www-form-urlencoded")
            .ProducesValidationProblem()
            .ProducesProblems(StatusCodes.Status409Conflict, StatusCodes.Status503ServiceUnavailable);

        app.MapGet("", ListAsync)
            .WithName("ListApiKeys")
            .WithSummary("The caller's API keys, oldest first")
            .WithDescription("Each key's id, name, prefix (its first characters, to tell it apart), created_at and " +
                "last_used_at (kept to about a minute); never the key.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapDelete("/{id}", RevokeAsync)
            .WithName("RevokeApiKey")
            .WithSummary("Revoke one of the caller's API keys")
            .WithDescription("The key is refused from the next request on, on every instance. Another user's key, or " +
                "one already revoked, is a 404.")
            .ProducesValidationProblem()
            .ProducesProblems(RouteMetadata.ReadProblems);

        return routes;
    }

    public static async Task<Results<Created<CreatedApiKey>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpContext context,
        Caller caller,
        ApiKeys keys,
        CancellationToken cancellationToken)
    {
        var (fields, owner, errors, refused) = await RequestFields.ReadForUserAsync(context, caller, [FieldNames.UserId, FieldNames.Name]);
        if (refused is not null)
        {
            return refused;
        }
        var name = string.IsNullOrWhiteSpace(fields[FieldNames.Name]) ? null : fields[FieldNames.Name]!.Trim();
        if (!errors.ContainsKey(FieldNames.Name) && name?.EnumerateRunes().Count() > NameMaxLength)
        {
            errors[FieldNames.Name] = [$"The name field must be at most {NameMaxLength} characters long."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        if (await keys.CreateAsync(owner, name, cancellationToken) is not { } created)
        {
            return Problems.TooManyApiKeys(ApiKeys.MaxKeysPerUser);
        }
        var (record, key) = created;
        return TypedResults.Created((string?)null, new CreatedApiKey(record.Id, record.Name, record.Prefix, record.CreatedAt, key));
    }

    public static async Task<Results<Ok<ApiKeyListResponse>, ProblemHttpResult>> ListAsync(
        [FromQuery(Name = "user_id")] string? userId,
        Caller caller,
        ApiKeys keys,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        var list = await keys.ListAsync(owner, cancellationToken);
        return TypedResults.Ok(new ApiKeyListResponse([.. list.Select(ApiKeyItem.From)]));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        [FromRoute(Name = "id")] string id,
        [FromQuery(Name = "user_id")] string? userId,
        Caller caller,
        ApiKeys keys,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        // An id no key can have is not looked for.
        return long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var keyId)
            && await keys.RevokeAsync(keyId, owner, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.ApiKeyNotFound();
    }
}
