namespace ChatBackend.Tests.Infrastructure;

/// <summary>
/// The tests whose bounds are times on a whole system: a trace reaching the dashboard, Ctrl+C ending a run, a cluster's
/// stall when its writer dies. They run alone, one class after another once the parallel ones are done (xUnit runs
/// such a collection last), so that the suite's other servers and builds do not stretch those times on two cores. In
/// the parallel suite, at a load average above 20, the dashboard's trace of a turn never came within minutes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "Runs alone";
}
