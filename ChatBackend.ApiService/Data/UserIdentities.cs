using Microsoft.Extensions.Caching.Memory;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// The numeric user_id of a token's issuer and subject: found, or created on first sight (migration V6). Ids once
/// given never change, so each instance keeps the ones it has seen (the most recent 100,000) and asks the database
/// only for a user new to it.
/// </summary>
public sealed class UserIdentities(MySqlDataSource dataSource) : IDisposable
{
    /// <summary>The longest issuer or subject the table keeps (OIDC bounds a subject at 255 ASCII characters).</summary>
    public const int MaxLength = 255;

    private readonly MemoryCache _known = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    public async ValueTask<long> GetUserIdAsync(string issuer, string subject, CancellationToken cancellationToken)
    {
        var key = (issuer, subject);
        if (_known.TryGetValue(key, out long userId))
        {
            return userId;
        }
        userId = await FindAsync(issuer, subject, cancellationToken) ?? await CreateAsync(issuer, subject, cancellationToken);
        _known.Set(key, userId, new MemoryCacheEntryOptions { Size = 1 });
        return userId;
    }

    private async Task<long?> FindAsync(string issuer, string subject, CancellationToken cancellationToken)
    {
        const string sql = "SELECT user_id FROM user_identity WHERE issuer = @issuer AND subject = @subject";
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@issuer", issuer);
            command.Parameters.AddWithValue("@subject", subject);
            return await command.ExecuteScalarAsync(cancellationToken) is long id ? id : (long?)null;
        }, cancellationToken);
    }

    // Of two first requests at once, the second waits on the first's row and then takes its id.
    private async Task<long> CreateAsync(string issuer, string subject, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO user_identity (issuer, subject, created_at) VALUES (@issuer, @subject, UTC_TIMESTAMP(6))
            ON DUPLICATE KEY UPDATE user_id = LAST_INSERT_ID(user_id);
            SELECT LAST_INSERT_ID();
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@issuer", issuer);
            command.Parameters.AddWithValue("@subject", subject);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);
    }

    public void Dispose() => _known.Dispose();
}
