using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>A user's spending today against the daily token quota.</summary>
public static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/usage", GetUsageAsync)
            .WithTags("Usage")
            .WithName("GetUsage")
            .WithSummary("The caller's tokens and sends today (UTC) against Quotas:DailyTokensPerUser")
            .WithDescription(
                "The token's user, or user_id without a bearer scheme (user_id answers which id a token's user has). tokens_used counts the input and output tokens of " +
                "the replies that ended today (as the provider counted them, else by the tokenizer); tokens_limit is null " +
                "when there is no quota; sends_today counts the sends that ended today.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    public static async Task<Results<Ok<UsageResponse>, ProblemHttpResult>> GetUsageAsync(
        [FromQuery(Name = "user_id")] string? userId,
        Caller caller,
        UsageQueries usage,
        IOptions<QuotaOptions> quota,
        CancellationToken cancellationToken)
    {
        if (caller.Resolve(userId, out var owner) is { } refused)
        {
            return refused;
        }
        var today = await usage.GetTodayAsync(owner, cancellationToken);
        var limit = quota.Value.DailyTokensPerUser;
        return TypedResults.Ok(new UsageResponse(owner, today.Date, today.Tokens, limit == 0 ? null : limit, today.Sends));
    }
}
