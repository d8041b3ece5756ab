using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http;

namespace ChatBackend.Tests.Unit;

/// <summary>How a turn's outcome or an exception becomes problem details: Problems, called directly.</summary>
[Trait("Category", "Unit")]
public sealed class ProblemsTests
{
    [Theory]
    [InlineData("ConversationNotFound", 404, "Conversation not found", "conversation_id")]
    [InlineData("StillInProgress", 409, "Message is still being answered", "message_id")]
    [InlineData("MessageIdReused", 409, "message_id already used", "message_id")]
    [InlineData("IdempotencyKeyReused", 422, "Idempotency-Key already used", "Idempotency-Key")]
    [InlineData("ModelFailed", 502, "The model provider failed", "message_id")]
    [InlineData("ModelTimedOut", 504, "The model provider timed out", "message_id")]
    [InlineData("ServerStopping", 503, "The server is shutting down", "message_id")]
    [InlineData("Cancelled", 409, "The reply was cancelled", "message_id")]
    [InlineData("TakenOver", 409, "The reply is generated elsewhere", "message_id")]
    public void AnOutcomeWithoutAReplyIsItsStatusAndTitleNamingTheFieldAtFault(string outcome, int status, string title, string field)
    {
        var problem = Problems.For(Outcome(outcome));

        Assert.Equal(status, problem.StatusCode);
        Assert.Equal(status, problem.ProblemDetails.Status);
        Assert.Equal(title, problem.ProblemDetails.Title);
        Assert.False(string.IsNullOrWhiteSpace(problem.ProblemDetails.Detail));
        Assert.Equal(field, problem.ProblemDetails.Extensions["field"]);
    }

    [Theory]
    [InlineData("StillInProgress")]
    [InlineData("MessageIdReused")]
    [InlineData("ModelFailed")]
    [InlineData("ModelTimedOut")]
    [InlineData("ServerStopping")]
    [InlineData("Cancelled")]
    [InlineData("TakenOver")]
    public void AnOutcomeOfAStoredMessageNamesItsConversationAndMessage(string outcome)
    {
        var extensions = Problems.For(Outcome(outcome)).ProblemDetails.Extensions;

        Assert.Equal("c-1", extensions["conversation_id"]);
        Assert.Equal("m-1", extensions["message_id"]);
    }

    [Fact]
    public void AModelFailureSaysWhatFailedAndThatTheMessageIsStoredForARetry()
    {
        var detail = Problems.For(new TurnOutcome.ModelFailed("c-1", "m-1", "The provider answered HTTP 500.")).ProblemDetails.Detail;

        Assert.StartsWith("The provider answered HTTP 500.", detail);
        Assert.Contains("same conversation_id and message_id", detail);
    }

    [Theory]
    [InlineData(RateLimit.SendsPerMinute, "RateLimits:SendsPerMinute", 2.2, "Too many sends", 3)]
    [InlineData(RateLimit.ConcurrentTurns, "RateLimits:ConcurrentTurnsPerUser", 0.1, "Too many replies at once", 1)]
    public void ARateLimitIsA429WithItsSettingAndWholeSecondsToWaitAtLeastOne(
        RateLimit kind, string setting, double seconds, string title, int retryAfter)
    {
        var problem = Problems.For(new RateLimited(kind, 3, TimeSpan.FromSeconds(seconds)));

        Assert.Equal(StatusCodes.Status429TooManyRequests, problem.StatusCode);
        Assert.Equal(Problems.RateLimitedType, problem.ProblemDetails.Type);
        Assert.Equal(title, problem.ProblemDetails.Title);
        Assert.Contains(setting, problem.ProblemDetails.Detail);
        Assert.Equal(retryAfter, problem.ProblemDetails.Extensions[Problems.RetryAfterExtension]);
    }

    [Fact]
    public void AUsedUpQuotaIsA429OfItsOwnTypeThatSaysHowMuchWasUsed()
    {
        var problem = Problems.For(new QuotaUsedUp(1_234, 1_000, TimeSpan.FromHours(5)));

        Assert.Equal(StatusCodes.Status429TooManyRequests, problem.StatusCode);
        Assert.Equal(Problems.QuotaUsedUpType, problem.ProblemDetails.Type);
        Assert.Contains("1234 of 1000 tokens", problem.ProblemDetails.Detail);
        Assert.Equal(5 * 3600, problem.ProblemDetails.Extensions[Problems.RetryAfterExtension]);
    }

    [Fact]
    public void AnOutcomeWithAReplyHasNoProblem()
    {
        var answered = new TurnOutcome.Answered(new AnsweredTurn("c-1", "m-1", new ReplyRecord("r-1", "hi", 1, 1, null, null, null, null, null), 2));

        Assert.Throws<InvalidOperationException>(() => Problems.For(answered));
    }

    [Fact]
    public void AnUnavailableDatabaseIsA503AndAnythingElseABare500WithoutTheExceptionsText()
    {
        var unavailable = Problems.ForException(new InvalidOperationException("wrapped", new TimeoutException("Server=10.0.0.1")));
        var other = Problems.ForException(new InvalidOperationException("secret SQL: SELECT *"));

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, unavailable.Status);
        Assert.DoesNotContain("10.0.0.1", unavailable.Detail);
        Assert.Equal(StatusCodes.Status500InternalServerError, other.Status);
        Assert.Null(other.Detail);
        Assert.DoesNotContain("secret", other.Title);
    }

    [Fact]
    public void ABodyOverTheLimitIsA413NamingTheSetting()
    {
        var problem = Problems.ForException(new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge));

        Assert.Equal(StatusCodes.Status413PayloadTooLarge, problem.Status);
        Assert.Contains("Chat:MaxRequestBytes", problem.Detail);
    }

    private static TurnOutcome Outcome(string name) => name switch
    {
        "ConversationNotFound" => new TurnOutcome.ConversationNotFound(),
        "StillInProgress" => new TurnOutcome.StillInProgress("c-1", "m-1"),
        "MessageIdReused" => new TurnOutcome.MessageIdReused("c-1", "m-1"),
        "IdempotencyKeyReused" => new TurnOutcome.IdempotencyKeyReused(),
        "ModelFailed" => new TurnOutcome.ModelFailed("c-1", "m-1", "The provider failed."),
        "ModelTimedOut" => new TurnOutcome.ModelTimedOut("c-1", "m-1"),
        "ServerStopping" => new TurnOutcome.ServerStopping("c-1", "m-1"),
        "Cancelled" => new TurnOutcome.Cancelled("c-1", "m-1", "partial"),
        "TakenOver" => new TurnOutcome.TakenOver("c-1", "m-1"),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };
}
