using System.Globalization;
using System.Text;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>A message given as an item of /v1/conversations, stored as it is, without a turn.</summary>
public sealed record NewItem(string Role, string Text, int TokenCount);

/// <summary>A conversation as /v1/conversations shows it: when it began and its metadata (JSON, or null).</summary>
public sealed record ConversationHead(string ConversationId, DateTime CreatedAt, string? Metadata);

/// <summary>A stored message as an item of /v1/conversations.</summary>
public sealed record StoredItem(string Id, string Role, string Text, MessageStatus Status);

/// <summary>How deleting a conversation's item went.</summary>
public enum ItemDeletion
{
    Deleted,
    ConversationNotFound,
    ItemNotFound,

    /// <summary>The item is a message whose reply is still being generated: cancel it first.</summary>
    Running,
}

/// <summary>A page of a conversation's items, whether more follow it, and whether the item it was to follow was found.</summary>
public sealed record ItemPage(IReadOnlyList<StoredItem> Items, bool HasMore, bool AfterNotFound = false);

/// <summary>
/// The SQL of /v1/conversations beside the native reads (<see cref="ConversationQueries"/>): a conversation made with
/// its first items, its metadata, and items added to it. Items are message rows like a turn's, numbered after every
/// number handed out so far under the conversation's lock (the protocol of <see cref="TurnStore"/>), stored as
/// Success; a user item followed by an assistant one is a turn of the later context. Items are listed a page at a time
/// in SQL, never the whole conversation read to answer one page.
/// </summary>
public sealed class ConversationItems(MySqlDataSource dataSource)
{
    /// <summary>A new conversation of the user's holding <paramref name="items"/>; its head, and the items' ids.</summary>
    public async Task<(ConversationHead Head, IReadOnlyList<string> ItemIds)> CreateAsync(
        long userId, string? metadata, IReadOnlyList<NewItem> items, CancellationToken cancellationToken)
    {
        return await dataSource.RunAsync(async connection =>
        {
            for (var attempt = 1; ; attempt++)
            {
                var conversationId = Ids.NewConversationId();
                await using var command = new MySqlCommand { Connection = connection };
                var sql = new StringBuilder($"""
                    {UnitOfWork.Begin}
                    INSERT INTO conversation_store (conv_id, user_id, message_count, last_message_no, metadata, created_at, updated_at)
                    VALUES (@conv, @user, @count, @count, @metadata, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));

                    """);
                command.Parameters.AddWithValue("@conv", conversationId);
                command.Parameters.AddWithValue("@user", userId);
                command.Parameters.AddWithValue("@count", items.Count);
                command.Parameters.AddWithValue("@metadata", metadata);
                var ids = AppendInserts(sql, command, items, "0");
                sql.Append($"SELECT created_at FROM conversation_store WHERE conv_id = @conv;\n{UnitOfWork.Commit}");
                command.CommandText = sql.ToString();
                try
                {
                    DateTime createdAt;
                    await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                    {
                        await reader.ReadAsync(cancellationToken);
                        createdAt = DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Utc);
                        await reader.ReadToEndAsync(cancellationToken);
                    }
                    return (new ConversationHead(conversationId, createdAt, metadata), ids);
                }
                // A fresh id colliding with an existing one (1 in 10^18): another id.
                catch (MySqlException exception) when (exception.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && attempt < 3)
                {
                    await connection.RollbackAsync();
                }
            }
        }, cancellationToken);
    }

    /// <summary>A conversation of the user's, or null (another user's answers as a missing one).</summary>
    public async Task<ConversationHead?> GetAsync(string conversationId, long userId, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return null;
        }
        const string sql = "SELECT created_at, metadata FROM conversation_store WHERE conv_id = @conv AND user_id = @user";
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new ConversationHead(conversationId, DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Utc),
                    reader.IsDBNull(1) ? null : reader.GetString(1))
                : null;
        }, cancellationToken);
    }

    /// <summary>Replaces a conversation's metadata; false when it is not the user's.</summary>
    public async Task<bool> SetMetadataAsync(string conversationId, long userId, string? metadata, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return false;
        }
        // Found, not changed, counts as found (CLIENT_FOUND_ROWS is not set: ROW_COUNT() alone would not say).
        const string sql = """
            UPDATE conversation_store SET metadata = @metadata WHERE conv_id = @conv AND user_id = @user;
            SELECT COUNT(*) FROM conversation_store WHERE conv_id = @conv AND user_id = @user;
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@metadata", metadata);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
        }, cancellationToken);
    }

    /// <summary>
    /// A page of the items of the conversation's newest branch (the messages its history shows), as OpenAI lists them:
    /// <paramref name="limit"/> of them, newest first unless <paramref name="ascending"/>, after the item
    /// <paramref name="after"/> when given (one of that branch). Null when the conversation is not the user's.
    /// </summary>
    /// <remarks>
    /// A linear conversation is one range of its (conv_id, message_no) key in either direction; a branched one is read
    /// as the native history reads a branch: its tree's numbers, then the page's rows by number.
    /// </remarks>
    public async Task<ItemPage?> ListAsync(
        string conversationId, long userId, string? after, int limit, bool ascending, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return null;
        }
        const string headSql = """
            SELECT c.user_id, c.branched,
                   (SELECT m.message_no FROM message_store m WHERE m.conv_id = c.conv_id AND m.message_id = @after) AS after_no
            FROM conversation_store c WHERE c.conv_id = @conv
            """;
        return await dataSource.RunAsync(async connection =>
        {
            (long Owner, bool Branched, int? AfterNo) head;
            await using (var command = new MySqlCommand(headSql, connection))
            {
                command.Parameters.AddWithValue("@conv", conversationId);
                command.Parameters.AddWithValue("@after", after is not null && Ids.IsMessageId(after) ? after : null);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return null;
                }
                head = (reader.GetInt64(0), reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetInt32(2));
            }
            if (head.Owner != userId)
            {
                return null;
            }
            if (after is not null && head.AfterNo is null)
            {
                return new ItemPage([], HasMore: false, AfterNotFound: true);
            }
            // One row more than the page tells whether more follow.
            string sql;
            bool? branchHasMore = null;
            if (head.Branched)
            {
                var branch = (await ConversationQueries.ReadTreeAsync(connection, conversationId, cancellationToken)).NewestBranchThrough(0);
                if (head.AfterNo is { } afterNo && !branch.Contains(afterNo))
                {
                    return new ItemPage([], HasMore: false, AfterNotFound: true);
                }
                var numbers = (ascending ? branch.Where(number => number > (head.AfterNo ?? 0)) : branch.AsEnumerable().Reverse().Where(number => number < (head.AfterNo ?? int.MaxValue)))
                    .Take(limit + 1).ToList();
                // Whether more follow is the tree's to say: a row of the page deleted since does not end the list.
                branchHasMore = numbers.Count > limit;
                if (numbers is [])
                {
                    return new ItemPage([], HasMore: false);
                }
                sql = $"{ItemSelect} AND message_no IN ({string.Join(',', numbers.Take(limit))}) ORDER BY message_no {(ascending ? "ASC" : "DESC")}";
            }
            else
            {
                sql = ascending
                    ? $"{ItemSelect} AND message_no > @after_no ORDER BY message_no ASC LIMIT @limit"
                    : $"{ItemSelect} AND message_no < @after_no ORDER BY message_no DESC LIMIT @limit";
            }
            await using (var command = new MySqlCommand(sql, connection))
            {
                command.Parameters.AddWithValue("@conv", conversationId);
                command.Parameters.AddWithValue("@after_no", head.AfterNo ?? (ascending ? 0 : int.MaxValue));
                command.Parameters.AddWithValue("@limit", limit + 1);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                var items = new List<StoredItem>();
                while (await reader.ReadAsync(cancellationToken))
                {
                    items.Add(ReadItem(reader));
                }
                var hasMore = branchHasMore ?? items.Count > limit;
                return new ItemPage(items.Count > limit ? items[..limit] : items, hasMore);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// One item of a conversation of the user's, on any branch: (false, null) when the conversation is not the user's,
    /// (true, null) when it has no such item.
    /// </summary>
    public async Task<(bool ConversationFound, StoredItem? Item)> FindAsync(
        string conversationId, long userId, string itemId, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return (false, null);
        }
        const string sql = """
            SELECT m.message_id, m.role, m.message, m.Status
            FROM conversation_store c LEFT JOIN message_store m ON m.conv_id = c.conv_id AND m.message_id = @item
            WHERE c.conv_id = @conv AND c.user_id = @user
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@item", Ids.IsMessageId(itemId) ? itemId : null);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return !await reader.ReadAsync(cancellationToken) ? (false, null)
                : reader.IsDBNull(0) ? (true, null)
                : (true, ReadItem(reader));
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes one item (message row) of a conversation of the user's, under the conversation's lock (the protocol of
    /// <see cref="TurnStore"/>), and gives the conversation's head. Exactly that row goes, with its tool calls (a
    /// reply's, or those of a message's attempts that left no reply); the rows around it stay:
    /// <list type="bullet">
    /// <item>the rows that followed it follow the row it followed (their parent_no set to it; the next row without
    /// one may be past numbers never used), so a branch keeps its place in the tree (<see cref="ConversationTree"/>);
    /// a linear conversation reads as before. A reply whose message stays is the exception: the rows after it are left
    /// to pass down to the message, so that a new reply, stored in its place, is followed again;</item>
    /// <item>a message whose reply goes is left as a turn that ended without one (Cancelled): sending it again with
    /// its message_id answers it anew, in the reply's place;</item>
    /// <item>a response is its turn's rows, so when its message or its reply goes, the response goes too: its
    /// message keeps no request (V18), and a response made before V18 loses its row of the response table;</item>
    /// <item>the conversation keeps its place in the list (updated_at stays).</item>
    /// </list>
    /// A message whose turn is running is not deleted (<see cref="ItemDeletion.Running"/>): its reply would be stored
    /// after it.
    /// </summary>
    public async Task<(ItemDeletion Deletion, ConversationHead? Head)> DeleteAsync(
        string conversationId, long userId, string itemId, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return (ItemDeletion.ConversationNotFound, null);
        }
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(DeleteSql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@item", Ids.IsMessageId(itemId) ? itemId : null);
            (ItemDeletion, ConversationHead?) deletion = (ItemDeletion.ConversationNotFound, null);
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    var head = new ConversationHead(conversationId, DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc),
                        reader.IsDBNull(3) ? null : reader.GetString(3));
                    deletion = (!reader.GetBoolean(0) ? ItemDeletion.ItemNotFound
                        : reader.GetBoolean(1) ? ItemDeletion.Running
                        : ItemDeletion.Deleted, head);
                }
                await reader.ReadToEndAsync(cancellationToken);
            }
            return deletion;
        }, cancellationToken);
    }

    // Deleting one item (DeleteAsync), in one batch.
    private static readonly string DeleteSql = $"""
        {TurnStore.StartTransaction}
        SET @item_conv = NULL, @item_no = NULL, @item_role = NULL, @item_running = 0, @item_parent = NULL, @item_deleted = 0;
        SELECT conv_id INTO @item_conv FROM conversation_store WHERE conv_id = @conv AND user_id = @user FOR UPDATE;
        SELECT message_no, role, Status = 'Pending', COALESCE(parent_no, message_no - 1)
        INTO @item_no, @item_role, @item_running, @item_parent
        FROM message_store WHERE conv_id = @item_conv AND message_id = @item;
        DELETE FROM response
        WHERE conv_id = @item_conv AND NOT @item_running AND id = (
            SELECT message_id FROM message_store
            WHERE conv_id = @item_conv AND message_no = IF(@item_role = 'assistant', @item_no - 1, @item_no));
        DELETE FROM tool_call
        WHERE conv_id = @item_conv AND NOT @item_running AND (
            (@item_role = 'assistant' AND message_no = @item_no)
            OR (@item_role <> 'assistant' AND message_no = @item_no + 1
                AND NOT EXISTS (SELECT 1 FROM message_store WHERE conv_id = @item_conv AND message_no = @item_no + 1)));
        UPDATE message_store SET Status = 'Cancelled', updated_at = UTC_TIMESTAMP(6)
        WHERE conv_id = @item_conv AND message_no = @item_no - 1 AND @item_role = 'assistant'
          AND role <> 'assistant' AND Status = 'Success';
        UPDATE message_store SET request = NULL
        WHERE conv_id = @item_conv AND message_no = @item_no - 1 AND @item_role = 'assistant' AND NOT @item_running;
        SET @item_repoint = NOT (@item_role = 'assistant' AND EXISTS (
            SELECT 1 FROM message_store WHERE conv_id = @item_conv AND message_no = @item_no - 1 AND role <> 'assistant'));
        {ConversationTree.KeepFollowersSql("@item_conv", "@item_no", "@item_no", "@item_parent", "NOT @item_running AND @item_repoint")}
        DELETE FROM message_store WHERE conv_id = @item_conv AND message_no = @item_no AND NOT @item_running;
        SET @item_deleted = ROW_COUNT();
        UPDATE conversation_store
        SET message_count = (SELECT COUNT(*) FROM message_store WHERE conv_id = @item_conv), updated_at = updated_at
        WHERE conv_id = @item_conv AND @item_deleted > 0;
        SELECT @item_no IS NOT NULL AS found, @item_running AS running, created_at, metadata
        FROM conversation_store WHERE conv_id = @item_conv;
        {UnitOfWork.Commit}
        """;

    // An item's columns in the order ReadItem reads them, of one conversation's rows.
    private const string ItemSelect = "SELECT message_id, role, message, Status FROM message_store WHERE conv_id = @conv";

    private static StoredItem ReadItem(MySqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetString(2), Enum.Parse<MessageStatus>(reader.GetString(3)));

    /// <summary>Adds <paramref name="items"/> at the end of a conversation of the user's: their ids, or null when it is not.</summary>
    public async Task<IReadOnlyList<string>?> AddAsync(
        string conversationId, long userId, IReadOnlyList<NewItem> items, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return null;
        }
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand { Connection = connection };
            // READ COMMITTED, as a turn's transactions (TurnStore.StartTransaction): the count's read takes no locks
            // on the conversation's rows and the gap after them, which a neighbouring conversation's inserts would wait on.
            var sql = new StringBuilder($"""
                {TurnStore.StartTransaction}
                SET @items_base = NULL;
                SELECT last_message_no INTO @items_base FROM conversation_store WHERE conv_id = @conv AND user_id = @user FOR UPDATE;

                """);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@count", items.Count);
            var ids = AppendInserts(sql, command, items, "@items_base", onlyWhen: "@items_base IS NOT NULL");
            sql.Append($"""
                UPDATE conversation_store
                SET last_message_no = last_message_no + @count, message_count = (SELECT COUNT(*) FROM message_store WHERE conv_id = @conv),
                    updated_at = UTC_TIMESTAMP(6)
                WHERE conv_id = @conv AND @items_base IS NOT NULL;
                SELECT @items_base IS NOT NULL;
                {UnitOfWork.Commit}
                """);
            command.CommandText = sql.ToString();
            bool found;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                found = reader.GetBoolean(0);
                await reader.ReadToEndAsync(cancellationToken);
            }
            return found ? ids : null;
        }, cancellationToken);
    }

    // One INSERT of the items, numbered from base + 1, with ids made here: the ids.
    private static List<string> AppendInserts(StringBuilder sql, MySqlCommand command, IReadOnlyList<NewItem> items, string numberBase, string? onlyWhen = null)
    {
        var ids = new List<string>(items.Count);
        if (items.Count == 0)
        {
            return ids;
        }
        sql.Append("INSERT INTO message_store (role, conv_id, message_no, message_id, message, token_count, Status, created_at, updated_at)\n");
        for (var index = 0; index < items.Count; index++)
        {
            var (role, text, tokens) = items[index];
            var id = Ids.NewItemId();
            ids.Add(id);
            var n = index.ToString(CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue($"@role{n}", role);
            command.Parameters.AddWithValue($"@id{n}", id);
            command.Parameters.AddWithValue($"@text{n}", text);
            command.Parameters.AddWithValue($"@tokens{n}", tokens);
            sql.Append(index == 0 ? "SELECT " : "UNION ALL SELECT ")
                .Append($"@role{n}, @conv, {numberBase} + {index + 1}, @id{n}, @text{n}, @tokens{n}, 'Success', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)")
                .Append(onlyWhen is null ? "\n" : $" FROM DUAL WHERE {onlyWhen}\n");
        }
        sql.Append(";\n");
        return ids;
    }
}
