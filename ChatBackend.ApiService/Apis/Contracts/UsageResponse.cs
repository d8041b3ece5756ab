using System.Text.Json.Serialization;

namespace ChatBackend.ApiService.Apis;

/// <summary>The day's usage; user_id says which numeric id the caller's token was given.</summary>
public sealed record UsageResponse(
    [property: JsonPropertyName("user_id")] long UserId,
    [property: JsonPropertyName("date")] DateOnly Date,
    [property: JsonPropertyName("tokens_used")] long TokensUsed,
    [property: JsonPropertyName("tokens_limit")] long? TokensLimit,
    [property: JsonPropertyName("sends_today")] int SendsToday);
