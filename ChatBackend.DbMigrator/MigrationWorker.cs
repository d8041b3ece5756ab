using System.Diagnostics;

namespace ChatBackend.DbMigrator;

// Migrates, records an activity, then stops the host (aspire-samples database-migrations): exit code 0 means
// "Finished", and the AppHost starts the API only then. On failure the exit code is 1 and one line says why.
public sealed partial class MigrationWorker(
    DatabaseMigrator migrator,
    IHostApplicationLifetime lifetime,
    IHostEnvironment environment,
    ILogger<MigrationWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var activitySource = new ActivitySource(environment.ApplicationName);
        using var activity = activitySource.StartActivity("Migrating database", ActivityKind.Client);
        try
        {
            var version = await migrator.MigrateAsync(stoppingToken);
            LogMigrated(version);
        }
        catch (MigrationFailedException exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            LogFailed(exception.Message);
            Environment.ExitCode = 1;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogFailed("the migration was cancelled before it completed.");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The database schema is at version {Version}.")]
    private partial void LogMigrated(string version);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Database migration failed: {Reason}")]
    private partial void LogFailed(string reason);
}
