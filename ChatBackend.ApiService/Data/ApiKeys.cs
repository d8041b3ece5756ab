using System.Collections.Concurrent;
using System.Data;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>An API key as its user sees it in the list: never the key, never its hash.</summary>
public sealed record ApiKeyRecord(long Id, string? Name, string Prefix, DateTime CreatedAt, DateTime? LastUsedAt);

/// <summary>A key found in the table: its row's id and its user.</summary>
public readonly record struct FoundKey(long Id, long UserId);

/// <summary>
/// The api_key table (migration V7): a user's keys made, listed and revoked, and the user of a key a request carries,
/// looked up by its hash. A key is never taken as valid from memory alone, so a revocation holds at once on every
/// instance: a request either looks its key up, or (a turn's send, <see cref="Remembered"/>) has its first transaction
/// check it (<see cref="CheckInBatch"/>).
/// </summary>
public sealed class ApiKeys(MySqlDataSource dataSource, TimeProvider clock)
{
    /// <summary>The most keys a user may hold at once.</summary>
    public const int MaxKeysPerUser = 100;

    /// <summary>
    /// The statement a transaction's batch opens with when the key <c>@checked_key_id</c> names let its request in
    /// from memory (<see cref="Remembered"/>): while the key's row is there it does nothing; once the key is revoked
    /// its subquery gives two rows, and the error (<see cref="RevokedInBatch"/>, 1242) stops the batch before any
    /// statement reads or writes. MySQL runs no SIGNAL outside a stored program, so the error is made this way.
    /// </summary>
    public const string CheckInBatch = """
        SET @checked_key = (SELECT 1 FROM (SELECT 1 AS n UNION ALL SELECT 2) AS two
                            WHERE NOT EXISTS (SELECT 1 FROM api_key WHERE id = @checked_key_id));

        """;

    /// <summary>The error of <see cref="CheckInBatch"/> for a revoked key: "Subquery returns more than 1 row".</summary>
    public const MySqlErrorCode RevokedInBatch = MySqlErrorCode.SubQueryNoOneRow;

    /// <summary>How stale last_used_at may grow before a request writes it again.</summary>
    private const string StaleUse = "(last_used_at IS NULL OR last_used_at < UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE)";

    private const string RecordColumns = "id, name, prefix, created_at, last_used_at";

    /// <summary>How many keys an instance remembers at most; past that it forgets them all and looks them up again.</summary>
    private const int MaxRemembered = 10_000;

    /// <summary>
    /// How long a key found in the table is remembered: a key in use is looked up (and its last_used_at written)
    /// once a minute at least.
    /// </summary>
    private static readonly TimeSpan RememberedFor = TimeSpan.FromMinutes(1);

    // By the key's hash (hex), never the key itself.
    private readonly ConcurrentDictionary<string, (FoundKey Key, long FoundAt)> _remembered = new(StringComparer.Ordinal);

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
        var revoked = await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@id", id);
            command.Parameters.AddWithValue("@user", userId);
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);
        // Not needed for the revocation to hold (nothing is taken as valid from memory), only not to keep it.
        Forget(id);
        return revoked;
    }

    /// <summary>Forgets the key of this row id (revoked), so that its next request is looked up.</summary>
    public void Forget(long id)
    {
        foreach (var (hash, remembered) in _remembered)
        {
            if (remembered.Key.Id == id)
            {
                _remembered.TryRemove(hash, out _);
            }
        }
    }

    /// <summary>
    /// The key's row, or null when it is malformed, unknown or revoked (a malformed one is not looked for). Its
    /// last_used_at is written when it is a minute old or more, not on every request.
    /// </summary>
    public async Task<FoundKey?> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeySecret.IsWellFormed(key))
        {
            return null;
        }
        const string findSql = $"SELECT id, user_id, {StaleUse} AS stale FROM api_key WHERE key_hash = @hash";
        var hash = ApiKeySecret.Hash(key);
        var found = await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(findSql, connection);
            command.Parameters.AddWithValue("@hash", hash);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? (Key: new FoundKey(reader.GetInt64("id"), reader.GetInt64("user_id")), Stale: reader.GetInt64("stale") != 0)
                : ((FoundKey Key, bool Stale)?)null;
        }, cancellationToken);
        if (found is not var (foundKey, stale))
        {
            return null;
        }
        if (stale)
        {
            await TouchAsync(foundKey.Id, cancellationToken);
        }
        var remembered = Convert.ToHexString(hash);
        // Count takes every lock of the dictionary: only for a key not remembered yet.
        if (!_remembered.ContainsKey(remembered) && _remembered.Count >= MaxRemembered)
        {
            _remembered.Clear();
        }
        _remembered[remembered] = (foundKey, clock.GetTimestamp());
        return foundKey;
    }

    /// <summary>
    /// The key as this instance found it in the table within the last minute, without looking again; null when it
    /// did not. Never proof that the key is still valid: a request let in on it has its first transaction check the
    /// key (<see cref="CheckInBatch"/>), and anything it reads before that looks again (<see cref="StillValidAsync"/>).
    /// </summary>
    public FoundKey? Remembered(string key) =>
        ApiKeySecret.IsWellFormed(key)
        && _remembered.TryGetValue(Convert.ToHexString(ApiKeySecret.Hash(key)), out var remembered)
        && clock.GetElapsedTime(remembered.FoundAt) < RememberedFor
            ? remembered.Key
            : null;

    /// <summary>
    /// Whether a request let in on <paramref name="uncheckedKey"/> from memory (<see cref="Remembered"/>) may read its
    /// user's rows before its turn's check: true without one, else whether the key is still there (one lookup). A
    /// revoked key is forgotten, so that its next request is looked up, and refused before it counts against its
    /// user's limits.
    /// </summary>
    public async Task<bool> StillValidAsync(long? uncheckedKey, CancellationToken cancellationToken)
    {
        if (uncheckedKey is not { } id)
        {
            return true;
        }
        const string sql = "SELECT COUNT(*) FROM api_key WHERE id = @id";
        var exists = await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@id", id);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0;
        }, cancellationToken);
        if (!exists)
        {
            Forget(id);
        }
        return exists;
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
