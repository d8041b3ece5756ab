using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MySqlConnector;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

// Kept only because Aspire.MySqlConnector is not served here: its AddMySqlDataSource, with the same keys and
// registrations. Moving to the package keeps the original's DB_* fallback (ResolveConnectionString), the COM_PING
// health check and the span filter below, which the package does not have.
public static class MySqlExtensions
{
    public const string HealthCheckName = "MySql";

    /// <summary>
    /// Registers a <see cref="MySqlDataSource"/> from <c>ConnectionStrings:{connectionName}</c> (or the original's
    /// <c>DB_*</c> variables), a MySQL health check, and MySqlConnector's traces and metrics.
    /// </summary>
    public static TBuilder AddMySqlDataSource<TBuilder>(
        this TBuilder builder, string connectionName, Action<MySqlConnectionStringBuilder>? configureConnectionString = null)
        where TBuilder : IHostApplicationBuilder
    {
        var connectionStringBuilder = new MySqlConnectionStringBuilder(ResolveConnectionString(builder.Configuration, connectionName));
        configureConnectionString?.Invoke(connectionStringBuilder);
        var connectionString = connectionStringBuilder.ConnectionString;

        builder.Services.AddSingleton(services => new MySqlDataSourceBuilder(connectionString)
            .UseLoggerFactory(services.GetService<Logging.ILoggerFactory>())
            // The stable database conventions: the legacy ones put the connection string on every span, a cost of
            // each exported span and no use to a reader.
            .ConfigureTracing(tracing => tracing.WithSemanticConventionsKinds(MySqlConnectorSemanticConventionsKinds.Stable))
            .UseConnectionOpenedCallback(ClusterNode.OnOpenedAsync)
            .Build());

        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            HealthCheckName,
            services => new MySqlHealthCheck(services.GetRequiredService<MySqlDataSource>()),
            failureStatus: null,
            tags: null,
            timeout: TimeSpan.FromSeconds(5)));

        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource("MySqlConnector").AddProcessor(new UnrecordedConnectionOpens()))
            .WithMetrics(metrics => metrics.AddMeter("MySqlConnector"));

        return builder;
    }

    /// <summary>
    /// <c>ConnectionStrings:{name}</c> when present; otherwise one built from the original backend's
    /// <c>DB_HOST</c>, <c>DB_PORT</c>, <c>DB_USER</c>, <c>DB_PASSWORD</c>, <c>DB_NAME</c> and <c>DB_SSL_CA</c>.
    /// </summary>
    public static string ResolveConnectionString(IConfiguration configuration, string connectionName)
    {
        if (configuration.GetConnectionString(connectionName) is { Length: > 0 } connectionString)
        {
            return connectionString;
        }

        if (configuration["DB_HOST"] is not { Length: > 0 } host)
        {
            throw new InvalidOperationException(
                $"No database is configured: set ConnectionStrings:{connectionName} (environment variable " +
                $"ConnectionStrings__{connectionName}) or the DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and DB_NAME variables.");
        }

        var builder = new MySqlConnectionStringBuilder
        {
            Server = host,
            UserID = configuration["DB_USER"] ?? "",
            Password = configuration["DB_PASSWORD"] ?? "",
            Database = configuration["DB_NAME"] ?? "",
        };
        if (configuration["DB_PORT"] is { Length: > 0 } port)
        {
            builder.Port = uint.TryParse(port, out var number) && number is > 0 and <= 65535
                ? number
                : throw new InvalidOperationException($"DB_PORT must be a TCP port number, not '{port}'.");
        }
        if (configuration["DB_SSL_CA"] is { Length: > 0 } sslCa)
        {
            builder.SslCa = sslCa;
            builder.SslMode = MySqlSslMode.VerifyCA;
        }
        return builder.ConnectionString;
    }

    // A pooled connection's Open is a span of its own that takes microseconds and tells nothing a turn's trace needs;
    // two per turn were a third of the database spans an export carries. Not recorded, no exporter sends it.
    private sealed class UnrecordedConnectionOpens : BaseProcessor<Activity>
    {
        public override void OnStart(Activity data)
        {
            if (data.Source.Name == "MySqlConnector" && data.OperationName == "Open")
            {
                data.IsAllDataRequested = false;
                data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            }
        }
    }

    // COM_PING first: it checks the server answers without running a statement (the check an Aspire maintainer asked
    // the MySQL health check to use). Then, on a Galera node, whether it may serve: a node that is joining or cut off
    // from the Primary component answers the ping but refuses every statement (ClusterNode.WhyNotServingAsync).
    private sealed class MySqlHealthCheck(MySqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
        {
            try
            {
                await using var connection = await PingedConnectionAsync(dataSource, cancellationToken);
                if (connection is null)
                {
                    return new HealthCheckResult(context.Registration.FailureStatus, "The database did not answer a ping.");
                }
                return await ClusterNode.WhyNotServingAsync(connection, cancellationToken) is { } reason
                    ? new HealthCheckResult(context.Registration.FailureStatus, reason)
                    : HealthCheckResult.Healthy();
            }
            catch (Exception exception) when (exception is MySqlException or TimeoutException or OperationCanceledException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "The database is unreachable.");
            }
        }
    }

    // Moves past pooled connections that died with their server as the API's units of work do: on one of those a
    // ping answers false rather than throwing. The connection that answered, or null.
    private static async Task<MySqlConnection?> PingedConnectionAsync(MySqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var poolSize = new MySqlConnectionStringBuilder(dataSource.ConnectionString).MaximumPoolSize;
        for (var attempt = 1; ; attempt++)
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            if (await connection.PingAsync(cancellationToken))
            {
                return connection;
            }
            await connection.DisposeAsync();
            if (cancellationToken.IsCancellationRequested || attempt > poolSize)
            {
                return null;
            }
        }
    }
}
