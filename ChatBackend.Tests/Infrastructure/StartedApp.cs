using Aspire.Hosting;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>An application started from the AppHost's entry point, with the testing builder that started it.</summary>
internal sealed record StartedApp(DistributedApplicationTestingBuilder.ITestingBuilder Testing, DistributedApplication Application)
    : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await Application.DisposeAsync();
        await Testing.DisposeAsync();
    }
}
