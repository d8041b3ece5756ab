using ChatBackend.ApiService.Data;
using MySqlConnector;

namespace ChatBackend.Tests.Infrastructure;

/// <summary>A data source on a test's database as the API makes its own (<see cref="ChatDatabase.ApplyConnectionDefaults"/>), for its stores.</summary>
public static class ApiDataSource
{
    public static MySqlDataSource Create(string connectionString)
    {
        var settings = new MySqlConnectionStringBuilder(connectionString);
        ChatDatabase.ApplyConnectionDefaults(settings);
        return new MySqlDataSource(settings.ConnectionString);
    }
}
