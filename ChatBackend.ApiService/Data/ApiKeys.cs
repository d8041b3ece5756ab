using System.Data;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>An API key as its user sees it in the list: never the key, never its hash.</summary>
public sealed record ApiKeyRecord(long Id, string? Name, string Prefix, DateTime CreatedAt, DateTime? LastUsedAt);

/// <summary>
/// The api_key table (migration V7): a user's keys made, listed and revoked, and the user of a key a request carries,
/// looked up by its hash on every request (no cache that could outlive a revocation on another instance).
/// </summary>
public sealed class ApiKeys(MySqlDataSource dataSource)
{
    /// <summary>The most keys a user may hold at once.</summary>
    public const int MaxKeysPerUser = 100;

    /// <summary>How stale last_used_at may grow before a request writes it again.</summary>
    private const string StaleUse = "(last_used_at IS NULL OR last_used_at < UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE)";

    private const string RecordColumns = "id, name, prefix, created_at, last_used_at";

    /// <summary>
    /// A new key for <paramref name="userId"/>, with its record: the key is returned here and nowhere else, only its
    /// hash is stored. Null when the user already holds <see cref="MaxKeysPerUser"/> keys.
    /// </summary>
    public async Task<(ApiKeyRecord Record, string Key)?> CreateAsync(long userId, string? name, CancellationToken cancellationToken)
    {
        // The count is a derived table (MySQL refuses the inserted table in a subquery of the WHERE). Two creates at once
        // lock the same range of the user's keys: one loses a deadlock and runs again, seeing the other's key.
        const string sql = $"""
            INSERT INTO api_key (user_id, name, prefix, key_hash, created_at)
            SELECT @user, @name, @prefix, @hash, UTC_TIMESTAMP(6)
            FROM (SELECT COUNT(*) AS held FROM api_key WHERE user_id = @user) AS keys_held
            WHERE keys_held.held < @max;
            SELECT {RecordColumns} FROM api_key WHERE key_hash = @hash;
            """;
        var key = ApiKeySecret.NewKey();
        var record = await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@name", name);
            command.Parameters.AddWithValue("@prefix", ApiKeySecret.ShownPrefix(key));
            command.Parameters.AddWithValue("@hash", ApiKeySecret.Hash(key));
            command.Parameters.AddWithValue("@max", MaxKeysPerUser);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var created = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
            await reader.ReadToEndAsync(cancellationToken);
            return created;
        }, cancellationToken);
        return record is null ? null : (record, key);
    }

    /// <summary>The user's keys, oldest first.</summary>
    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(long userId, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {RecordColumns} FROM api_key WHERE user_id = @user ORDER BY id";
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var keys = new List<ApiKeyRecord>();
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add(Read(reader));
            }
            return keys;
        }, cancellationToken);
    }

    /// <summary>Revokes (deletes) one of the user's keys; false when the user has no key of this id.</summary>
    public async Task<bool> RevokeAsync(long id, long userId, CancellationToken cancellationToken)
    {
        const string sql = "DELETE FROM api_key WHERE id = @id AND user_id = @user";
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@id", id);
            command.Parameters.AddWithValue("@user", userId);
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);
    }

    /// <summary>
    /// The user of <paramref name="key"/>, or null when it is malformed, unknown or revoked (a malformed one is not
    /// looked for). Its last_used_at is written when it is a minute old or more, not on every request.
    /// </summary>
    public async Task<long?> FindUserAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeySecret.IsWellFormed(key))
        {
            return null;
        }
        const string findSql = $"SELECT id, user_id, {StaleUse} AS stale FROM api_key WHERE key_hash = @hash";
        var found = await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(findSql, connection);
            command.Parameters.AddWithValue("@hash", ApiKeySecret.Hash(key));
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? (Id: reader.GetInt64("id"), UserId: reader.GetInt64("user_id"), Stale: reader.GetInt64("stale") != 0)
                : ((long Id, long UserId, bool Stale)?)null;
        }, cancellationToken);
        if (found is { Stale: true } stale)
        {
            await TouchAsync(stale.Id, cancellationToken);
        }
        return found?.UserId;
    }

    // Conditional, so that of the instances that saw the same stale time at once only the first writes.
    private async Task TouchAsync(long id, CancellationToken cancellationToken)
    {
        const string sql = $"UPDATE api_key SET last_used_at = UTC_TIMESTAMP(6) WHERE id = @id AND {StaleUse}";
        await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@id", id);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private static ApiKeyRecord Read(MySqlDataReader reader) => new(
        reader.GetInt64("id"),
        reader.GetNullableString("name"),
        reader.GetString("prefix"),
        DateTime.SpecifyKind(reader.GetDateTime("created_at"), DateTimeKind.Utc),
        reader.GetNullableUtcDateTime("last_used_at"));
}
