using System.Diagnostics;
using ChatBackend.DbMigrator;
using ChatBackend.Tests.Infrastructure;
using MySqlConnector;

namespace ChatBackend.Tests.Api;

/// <summary>The migrator as it runs for real: its own process, its exit code, its log.</summary>
[Trait("Category", "Api")]
public sealed class MigratorTests(DatabaseFixture database)
{
    // Every table of the schema, as SHOW TABLES orders them.
    private static readonly string[] Tables =
    [
        "api_key", "conversation_store", "idempotency_key", "message_store", "reply_progress", "response",
        DatabaseMigrator.HistoryTable, "schema_migration_lock", "tool_call", "usage_daily", "user_identity",
    ];

    [Fact]
    public async Task MigratorCreatesTheDatabaseAndSchemaOnAnEmptyServerAndExitsZero()
    {
        var name = $"fresh_{Guid.NewGuid().ToString("n")[..10]}";
        var connectionString = (await database.ServerAsync()).ConnectionString(name);

        var run = await RunMigratorAsync(connectionString);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(Tables, await TablesAsync(connectionString));
        Assert.Equal(1, await AppliedMigrationsAsync(connectionString));
        Assert.Contains($"The database schema is at version {NewestMigration}.", run.Output);
    }

    // The highest V of the migrations the migrator carries (Migrations/V{n}__*.sql, embedded).
    private static int NewestMigration => typeof(DatabaseMigrator).Assembly.GetManifestResourceNames()
        .Select(name => System.Text.RegularExpressions.Regex.Match(name, @"\.V(\d+)__[^.]*\.sql$"))
        .Where(match => match.Success)
        .Max(match => int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task TheSchemaKeepsGroupReplicationsRulesNoCascadingForeignKeyAndAPrimaryKeyOnEveryTable()
    {
        var connectionString = (await database.ServerAsync()).ConnectionString($"rules_{Guid.NewGuid().ToString("n")[..10]}");
        var run = await RunMigratorAsync(connectionString);
        Assert.True(run.ExitCode == 0, run.Output);

        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new MySqlCommand("""
            SELECT CONCAT('cascade: ', TABLE_NAME, '.', CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = DATABASE() AND (DELETE_RULE <> 'RESTRICT' AND DELETE_RULE <> 'NO ACTION'
                  OR UPDATE_RULE <> 'RESTRICT' AND UPDATE_RULE <> 'NO ACTION')
            UNION ALL
            SELECT CONCAT('no primary key: ', t.TABLE_NAME) FROM information_schema.TABLES t
            WHERE t.TABLE_SCHEMA = DATABASE() AND NOT EXISTS (
                SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c
                WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY')
            """, connection);
        var broken = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            broken.Add(reader.GetString(0));
        }

        Assert.Empty(broken);
    }

    [Fact]
    public async Task RunningTheMigratorTwiceChangesNothing()
    {
        var connectionString = (await database.ServerAsync()).ConnectionString($"twice_{Guid.NewGuid().ToString("n")[..10]}");
        var first = await RunMigratorAsync(connectionString);
        var schemaBefore = await SchemaAsync(connectionString);

        var second = await RunMigratorAsync(connectionString);

        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal(schemaBefore, await SchemaAsync(connectionString));
        Assert.Equal(1, await AppliedMigrationsAsync(connectionString));
    }

    [Fact]
    public async Task TwoMigratorsStartedAtOnceBothSucceedAndApplyEachScriptOnce()
    {
        var connectionString = (await database.ServerAsync()).ConnectionString($"race_{Guid.NewGuid().ToString("n")[..10]}");

        var runs = await Task.WhenAll(RunMigratorAsync(connectionString), RunMigratorAsync(connectionString));

        Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.Output));
        Assert.Equal(1, await AppliedMigrationsAsync(connectionString));
        Assert.Equal(Tables, await TablesAsync(connectionString));
    }

    [Fact]
    public async Task MigratorGivesUpOnAnUnreachableServerWithOneClearLineAndNoSecret()
    {
        var connectionString = new MySqlConnectionStringBuilder
        {
            Server = "127.0.0.1",
            Port = 1, // nothing listens on port 1
            UserID = "root",
            Password = "very-secret-password",
            Database = "chatdb",
        }.ConnectionString;

        var run = await RunMigratorAsync(connectionString, ("Migrator__ServerWaitTimeout", "00:00:02"));

        Assert.Equal(1, run.ExitCode);
        var failures = run.Output.Split('\n').Count(line => line.Contains("Database migration failed", StringComparison.Ordinal));
        Assert.True(failures == 1, run.Output);
        Assert.Contains("127.0.0.1:1", run.Output);
        Assert.DoesNotContain("very-secret-password", run.Output);
    }

    private sealed record MigratorRun(int ExitCode, string Output);

    private static async Task<MigratorRun> RunMigratorAsync(string connectionString, params (string Name, string Value)[] environment)
    {
        var assembly = typeof(DatabaseMigrator).Assembly.Location;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(assembly);
        start.Environment["ConnectionStrings__chatdb"] = connectionString;
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The migrator did not exit within 90 s.");
        }
        return new MigratorRun(process.ExitCode, await output + await error);
    }

    private static async Task<List<string>> TablesAsync(string connectionString)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name", connection);
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }
        return tables;
    }

    private static async Task<string> SchemaAsync(string connectionString)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand("""
            SELECT GROUP_CONCAT(CONCAT_WS(':', table_name, column_name, column_type, is_nullable, column_default)
                                ORDER BY table_name, ordinal_position SEPARATOR '\n')
            FROM information_schema.columns WHERE table_schema = DATABASE()
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> AppliedMigrationsAsync(string connectionString)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand(
            $"SELECT COUNT(*) FROM {DatabaseMigrator.HistoryTable} WHERE name = 'V1__create_chat_tables.sql' AND success = 1", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
