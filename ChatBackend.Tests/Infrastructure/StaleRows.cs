using ChatBackend.ApiService.Data;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>The stale rows' sweep (<see cref="StaleRowsPurge"/>), one round as an instance runs it, on a test's database.</summary>
public static class StaleRows
{
    public static async Task PurgeOnceAsync(string connectionString, TimeSpan? pendingSilence = null)
    {
        await using var dataSource = ApiDataSource.Create(connectionString);
        await new StaleRowsPurge(dataSource, new ResponseQueries(dataSource), NullLogger<StaleRowsPurge>.Instance, pendingSilence)
            .PurgeAsync(CancellationToken.None);
    }
}
