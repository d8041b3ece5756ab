namespace ChatBackend.AppHost.MySql;

/// <summary>The image Aspire.Hosting.MySql 13.6 runs.</summary>
internal static class MySqlContainerImageTags
{
    public const string Registry = "docker.io";

    public const string Image = "library/mysql";

    public const string Tag = "9.7";

    public const string FullName = $"{Registry}/{Image}:{Tag}";

    public const int Port = 3306;
}
