using System.Net.Sockets;
using ChatBackend.ApiService.Data;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>How a unit of work's failures come out of <c>UnitOfWork.RunAsync</c>, on a real server.</summary>
[Trait("Category", "Api")]
public sealed class UnitOfWorkTests(DatabaseFixture database)
{
    public static TheoryData<string> CutConnections => ["EndOfStream", "Socket"];

    [Theory]
    [MemberData(nameof(CutConnections))]
    public async Task AConnectionCutUnderAUnitThatTheDriverLetsThroughUnwrappedIsAnUnavailableDatabaseAndIsNotRunAgain(string cut)
    {
        await using var dataSource = new MySqlDataSource(await database.CreateMigratedDatabaseAsync("unit_of_work"));
        var runs = 0;
        var failure = await Assert.ThrowsAsync<DatabaseUnavailableException>(() => dataSource.RunAsync<int>(_ =>
        {
            runs++;
            throw cut == "Socket" ? new SocketException((int)SocketError.ConnectionReset) : new EndOfStreamException();
        }, TestContext.Current.CancellationToken));

        Assert.True(ChatDatabase.IsUnavailable(failure));
        Assert.Equal(1, runs); // whether it committed is unknown: never run again
    }
}
