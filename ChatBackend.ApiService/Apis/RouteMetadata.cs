namespace ChatBackend.ApiService.Apis;

public static class RouteMetadata
{
    /// <summary>What a read of one of the user's conversations or messages can answer besides its result.</summary>
    public static readonly int[] ReadProblems = [StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable];

    /// <summary>The problem statuses a route may answer with, for OpenAPI: one line per route instead of a chain.</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder route, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            route.ProducesProblem(status);
        }
        return route;
    }
}
