using System.Reflection;

namespace Aspire.Hosting;

/// <summary>
/// Runs an AppHost's own entry point for a test, as Aspire.Hosting.Testing does: the test receives the builder
/// after the entry point has defined the model (to adjust it), builds and starts the application itself, and stops
/// it; the entry point's <c>Run()</c> then returns.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    private static readonly AsyncLocal<Interception?> Current = new();

    internal static bool IsTesting => Current.Value is not null;

    public static async Task<ITestingBuilder> CreateAsync<TEntryPoint>(string[] args, CancellationToken cancellationToken)
        where TEntryPoint : IProjectMetadata, new()
    {
        var assembly = Assembly.Load(Path.GetFileNameWithoutExtension(new TEntryPoint().ProjectPath));
        var entryPoint = assembly.EntryPoint ?? throw new InvalidOperationException($"{assembly.GetName().Name} has no entry point.");
        var interception = new Interception();
        Current.Value = interception;
        // The entry point runs on its own thread and carries the interception with it (an AsyncLocal flows into it).
        var program = Task.Factory.StartNew(
            () => entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : [args]),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Current.Value = null;

        var first = await Task.WhenAny(interception.Builder.Task, program).WaitAsync(cancellationToken);
        if (first == program)
        {
            await program;
            throw new InvalidOperationException("The AppHost's entry point ended without building an application.");
        }
        return new TestingBuilder(await interception.Builder.Task, interception, program);
    }

    internal static DistributedApplication? InterceptBuild(DistributedApplicationBuilder builder)
    {
        if (Current.Value is not { } interception)
        {
            return null;
        }
        interception.Builder.SetResult(builder);
        return interception.Application.Task.GetAwaiter().GetResult();
    }

    public interface ITestingBuilder : IAsyncDisposable
    {
        IDistributedApplicationBuilder Builder { get; }

        /// <summary>Builds the application; the test starts and stops it.</summary>
        DistributedApplication Build();
    }

    private sealed class Interception
    {
        public TaskCompletionSource<DistributedApplicationBuilder> Builder { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<DistributedApplication> Application { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class TestingBuilder(DistributedApplicationBuilder builder, Interception interception, Task program) : ITestingBuilder
    {
        public IDistributedApplicationBuilder Builder => builder;

        public DistributedApplication Build()
        {
            var application = builder.BuildCore();
            interception.Application.SetResult(application);
            return application;
        }

        // The entry point returns once the application has stopped; one that was never built is released too.
        public async ValueTask DisposeAsync()
        {
            interception.Application.TrySetException(new OperationCanceledException("The test did not build the application."));
            try
            {
                await program.WaitAsync(TimeSpan.FromMinutes(1));
            }
            catch (Exception exception) when (exception is TargetInvocationException or OperationCanceledException)
            {
                // The entry point was released without an application.
            }
        }
    }
}
