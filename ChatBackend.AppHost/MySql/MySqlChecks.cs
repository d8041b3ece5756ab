using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MySqlConnector;

namespace ChatBackend.AppHost.MySql;

/// <summary>The health check of a MySQL resource: a COM_PING on a fresh connection, as Aspire.Hosting.MySql's.</summary>
internal static class MySqlChecks
{
    /// <summary>
    /// Healthy once the server behind the resource's connection string answers a ping. The database itself is not
    /// opened: the migrator creates it (CREATE DATABASE IF NOT EXISTS) once this is healthy.
    /// </summary>
    public static IResourceBuilder<T> WithPingHealthCheck<T>(this IResourceBuilder<T> builder) where T : IResourceWithConnectionString
    {
        // Aspire runs a resource's health checks once it runs, when its connection string can be resolved.
        var resource = builder.Resource;
        var key = $"{resource.Name}_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().AddAsyncCheck(key, async ct =>
            await PingAsync(await resource.ConnectionStringExpression.GetValueAsync(ct), ct));
        return builder.WithHealthCheck(key);
    }

    // "Running" is not "answering". The message only, not the exception: the dashboard logs a failed check at every poll.
    private static async Task<HealthCheckResult> PingAsync(string? connectionString, CancellationToken cancellationToken)
    {
        if (connectionString is null)
        {
            return HealthCheckResult.Unhealthy("The connection string is not known yet.");
        }
        try
        {
            var builder = new MySqlConnectionStringBuilder(connectionString) { Database = "", Pooling = false, ConnectionTimeout = 5 };
            await using var connection = new MySqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            return await connection.PingAsync(cancellationToken) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The server did not answer a ping.");
        }
        catch (MySqlException exception)
        {
            return HealthCheckResult.Unhealthy(exception.Message);
        }
    }
}
