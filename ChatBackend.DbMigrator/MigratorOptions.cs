using System.ComponentModel.DataAnnotations;

namespace ChatBackend.DbMigrator;

public sealed class MigratorOptions
{
    public const string SectionName = "Migrator";

    /// <summary>How long to wait for a database server that is still starting before giving up.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ServerWaitTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
