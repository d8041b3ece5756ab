namespace ChatBackend.AppHost.MySql;

/// <summary>The image Aspire.Hosting.MySql 13.6 runs: the default of <c>AppHost:MySqlImage</c>.</summary>
internal static class MySqlContainerImageTags
{
    public const string Registry = "docker.io";

    public const string Image = "library/mysql";

    public const string Tag = "9.7";

    public const string FullName = $"{Registry}/{Image}:{Tag}";

    public const int Port = 3306;

    /// <summary>The configuration key that names another MySQL-compatible image (a mirror, MariaDB, a pinned digest).</summary>
    public const string ImageSetting = "AppHost:MySqlImage";
}
