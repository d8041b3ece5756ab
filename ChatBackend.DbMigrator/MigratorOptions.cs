using System.ComponentModel.DataAnnotations;

namespace ChatBackend.DbMigrator;

public sealed class MigratorOptions
{
    public const string SectionName = "Migrator";

    /// <summary>How long to wait for a database server that is still starting before giving up.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ServerWaitTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long to wait while another migrator holds the schema's migration lock before giving up.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LockWaitTimeout { get; set; } = TimeSpan.FromMinutes(30);
}
