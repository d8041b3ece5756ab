using Microsoft.AspNetCore.Http.HttpResults;

namespace ChatBackend.ApiService.Apis;

public static class StatusApi
{
    public static IEndpointRouteBuilder MapStatusApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", GetStatus)
            .WithName("GetStatus")
            .WithSummary("Says the API is up, as the original's root did");
        return app;
    }

    public static Ok<StatusResponse> GetStatus() => TypedResults.Ok(new StatusResponse("Working"));
}
