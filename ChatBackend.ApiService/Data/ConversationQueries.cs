using System.Data;
using MySqlConnector;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// The reads and edits of stored conversations: a user's list and search, one conversation, its history and the
/// context a turn's prompt reads; rename, delete, feedback and titles. Over 250 lines for one job: each operation is
/// one statement and its reader, and the history's hand-written reader is the measured hot path.
/// </summary>
public sealed class ConversationQueries(MySqlDataSource dataSource)
{
    private const string SummaryColumns = "ID, conv_id, chat_name, message_count, created_at, updated_at";

    // A page after the first; internal for the test that EXPLAINs it.
    internal const string ListAfterSql = $"""
        SELECT {SummaryColumns} FROM conversation_store
        WHERE user_id = @user AND (updated_at < @updated OR (updated_at = @updated AND ID < @id))
        ORDER BY updated_at DESC, ID DESC LIMIT @limit
        """;

    // A history message's columns, as ReadMessagesAsync reads them (message_store as m).
    private const string MessageColumns = """
        m.role, m.message, m.message_no, m.message_id, m.Status, m.elapsed_time, m.created_at,
               m.model, m.input_tokens, m.output_tokens, m.finish_reason, m.time_to_first_token, m.error_code,
               m.feedback_rating, m.feedback_comment, m.tool_calls
        """;

    // The newest page of a conversation's messages with its owner and count on each row: the conversation's row is a
    // constant (its key is unique), so the messages come from the (conv_id, message_no) key read backwards, with no
    // sort (a LEFT JOIN, which would also answer for a page with no messages, makes MariaDB sort them in a temporary
    // table). Internal for the test that EXPLAINs it.
    internal const string HistorySql = $"""
        SELECT c.user_id, c.message_count, c.branched, {MessageColumns}
        FROM conversation_store c
        JOIN message_store m ON m.conv_id = c.conv_id AND m.message_no < @before
        WHERE c.conv_id = @conv
        ORDER BY m.message_no DESC LIMIT @limit
        """;

    /// <summary>
    /// A conversation's messages, oldest first, or null when it does not exist or is not the given user's: the
    /// <paramref name="limit"/> newest before message number <paramref name="before"/> (when given), of the newest
    /// branch, or of the newest branch through <paramref name="branch"/> (a message id) when given.
    /// </summary>
    /// <remarks>
    /// The history is the API's most frequent read, so it is a server-side prepared statement (prepared once per
    /// pooled connection, then only executed): the server skips parsing it, and the rows travel in the binary protocol.
    /// A branched conversation is read as a tree (<see cref="ReadBranchAsync"/>) instead.
    /// </remarks>
    public async Task<Conversation?> GetConversationAsync(
        string conversationId, long? userId, int limit, int? before, CancellationToken cancellationToken, string? branch = null)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return null;
        }
        return await dataSource.RunAsync(async connection =>
        {
            // A page with no messages (none before the one asked for) has no row to say whose the conversation is.
            // The page and the conversation are two statements, two snapshots: a turn that committed between them
            // (or, on a cluster node, was applied between them) would give a conversation that counts messages and a
            // page without them. The conversation's read says whether the page has rows now, and the page is read again.
            // A branched conversation (or one read by its branch) is read as a tree after it.
            (long Owner, int MessageCount, bool Branched, List<StoredMessage> Messages)? page;
            for (var read = 1; ; read++)
            {
                page = branch is null ? await ReadPageAsync(connection, conversationId, limit, before, cancellationToken) : null;
                if (page is not null || await ReadConversationAsync(connection, conversationId, before, cancellationToken) is not { } alone)
                {
                    break;
                }
                if (branch is not null || alone.Branched || !alone.PageHasRows || read == 3)
                {
                    page = (alone.Owner, alone.MessageCount, alone.Branched, []);
                    break;
                }
            }
            if (page is not { } found || (userId is { } user && found.Owner != user))
            {
                return null;
            }
            if (found.Branched || branch is not null)
            {
                return await ReadBranchAsync(connection, conversationId, found.MessageCount, branch, limit, before, cancellationToken);
            }
            var messages = found.Messages;
            var hasMore = TrimPage(messages, limit);
            messages.Reverse();
            return new Conversation(conversationId, found.MessageCount, messages, hasMore);
        }, cancellationToken);
    }

    // A page of one branch: the tree's rows (numbers and ids only), the branch's numbers, then the page's messages.
    private static async Task<Conversation> ReadBranchAsync(
        MySqlConnection connection, string conversationId, int messageCount, string? branch, int limit, int? before,
        CancellationToken cancellationToken)
    {
        var tree = await ReadTreeAsync(connection, conversationId, cancellationToken);
        var through = 0;
        if (branch is not null)
        {
            if (tree.Find(branch) is not { } row)
            {
                return new Conversation(conversationId, messageCount, [], HasMore: false, BranchNotFound: true);
            }
            through = row.MessageNo;
        }
        var numbers = tree.NewestBranchThrough(through).Where(number => number < (before ?? int.MaxValue)).ToList();
        var hasMore = numbers.Count > limit;
        numbers = numbers[Math.Max(0, numbers.Count - limit)..];
        if (numbers is [])
        {
            return new Conversation(conversationId, messageCount, [], hasMore);
        }
        var sql = $"""
            SELECT {MessageColumns}
            FROM message_store m WHERE m.conv_id = @conv AND m.message_no IN ({string.Join(',', numbers)})
            ORDER BY m.message_no
            """;
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var messages = await reader.ReadAsync(cancellationToken) ? await ReadMessagesAsync(reader, cancellationToken) : [];
        return new Conversation(
            conversationId, messageCount,
            [.. messages.Select(message => message with { Siblings = tree.SiblingsOf(tree.Find(message.MessageId)!.Value) })],
            hasMore);
    }

    /// <summary>A conversation's rows as its tree needs them: numbers, roles, ids and stored parents.</summary>
    public static async Task<ConversationTree> ReadTreeAsync(
        MySqlConnection connection, string conversationId, CancellationToken cancellationToken)
    {
        const string sql = "SELECT message_no, role, message_id, parent_no FROM message_store WHERE conv_id = @conv ORDER BY message_no";
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleResult, cancellationToken);
        var rows = new List<TreeRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new TreeRow(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt32(3)));
        }
        return new ConversationTree(rows);
    }

    private static async Task<(long Owner, int MessageCount, bool Branched, List<StoredMessage> Messages)?> ReadPageAsync(
        MySqlConnection connection, string conversationId, int limit, int? before, CancellationToken cancellationToken)
    {
        await using var command = new MySqlCommand(HistorySql, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@before", before ?? int.MaxValue);
        // One row more than the page tells whether older ones remain.
        command.Parameters.AddWithValue("@limit", limit + 1);
        await command.PrepareAsync(cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (reader.GetInt64(0), reader.GetInt32(1), reader.GetBoolean(2), await ReadMessagesAsync(reader, cancellationToken))
            : null;
    }

    // The conversation alone, or null when it does not exist; whether, in the same snapshot, it has messages before
    // the page's bound.
    private static async Task<(long Owner, int MessageCount, bool Branched, bool PageHasRows)?> ReadConversationAsync(
        MySqlConnection connection, string conversationId, int? before, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT user_id, message_count, branched,
                   EXISTS (SELECT 1 FROM message_store WHERE conv_id = @conv AND message_no < @before) AS page_has_rows
            FROM conversation_store WHERE conv_id = @conv
            """;
        await using var command = new MySqlCommand(sql, connection);
        command.Parameters.AddWithValue("@conv", conversationId);
        command.Parameters.AddWithValue("@before", before ?? int.MaxValue);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetInt32(1), reader.GetBoolean(2), reader.GetBoolean(3)) : null;
    }

    /// <summary>
    /// The message that began the turn of <paramref name="messageId"/> (itself, or the message a reply answers) in a
    /// conversation of the user's: its role and text; null when there is none.
    /// </summary>
    public async Task<(string Role, string Text)?> GetTurnMessageAsync(
        string conversationId, long userId, string messageId, CancellationToken cancellationToken)
    {
        if (!Ids.CanExist(conversationId, messageId))
        {
            return null;
        }
        const string sql = """
            SELECT u.role, u.message
            FROM message_store f
            JOIN conversation_store c ON c.conv_id = f.conv_id AND c.user_id = @user
            JOIN message_store u ON u.conv_id = f.conv_id AND u.message_no = IF(f.role = 'assistant', f.message_no - 1, f.message_no)
            WHERE f.conv_id = @conv AND f.message_id = @mid
            """;
        return await dataSource.RunAsync<(string, string)?>(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@mid", messageId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.GetString(1)) : null;
        }, cancellationToken);
    }

    /// <summary>
    /// A page of the user's conversations, most recently active first, after <paramref name="after"/>: keyset on
    /// (updated_at, ID), which the index (user_id, updated_at) serves in order (InnoDB keeps ID in it), with no
    /// OFFSET and no sort. One row more than the page tells whether more remain.
    /// </summary>
    public async Task<(IReadOnlyList<ConversationSummary> Page, bool HasMore)> ListAsync(
        long userId, int limit, ConversationCursor? after, CancellationToken cancellationToken)
    {
        const string first = $"""
            SELECT {SummaryColumns} FROM conversation_store
            WHERE user_id = @user
            ORDER BY updated_at DESC, ID DESC LIMIT @limit
            """;
        return await dataSource.RunAsync<(IReadOnlyList<ConversationSummary>, bool)>(async connection =>
        {
            await using var command = new MySqlCommand(after is null ? first : ListAfterSql, connection);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@limit", limit + 1);
            if (after is { } cursor)
            {
                command.Parameters.AddWithValue("@updated", cursor.UpdatedAt);
                command.Parameters.AddWithValue("@id", cursor.RowId);
            }
            var page = new List<ConversationSummary>(limit + 1);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                page.Add(ReadSummary(reader));
            }
            return (page, TrimPage(page, limit));
        }, cancellationToken);
    }

    /// <summary>
    /// A page of the user's conversations that have a message with every one of <paramref name="words"/>, most
    /// recently active first, each with its best matching message; paged as <see cref="ListAsync"/>. The full-text
    /// index finds the messages; the join to the user's conversations keeps everyone else's out.
    /// </summary>
    public async Task<(IReadOnlyList<ConversationSummary> Page, bool HasMore)> SearchAsync(
        long userId, IReadOnlyList<string> words, int limit, ConversationCursor? after, CancellationToken cancellationToken)
    {
        const string sql = """
            WITH hits AS (
                SELECT m.conv_id, m.message,
                       ROW_NUMBER() OVER (PARTITION BY m.conv_id
                                          ORDER BY MATCH (m.message) AGAINST (@query IN BOOLEAN MODE) DESC, m.message_no DESC) AS place
                FROM message_store m JOIN conversation_store c ON c.conv_id = m.conv_id
                WHERE c.user_id = @user AND MATCH (m.message) AGAINST (@query IN BOOLEAN MODE)
            )
            SELECT c.ID, c.conv_id, c.chat_name, c.message_count, c.created_at, c.updated_at, h.message AS best_match
            FROM hits h JOIN conversation_store c ON c.conv_id = h.conv_id
            WHERE h.place = 1 AND (@after = 0 OR c.updated_at < @updated OR (c.updated_at = @updated AND c.ID < @id))
            ORDER BY c.updated_at DESC, c.ID DESC LIMIT @limit
            """;
        return await dataSource.RunAsync<(IReadOnlyList<ConversationSummary>, bool)>(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@user", userId);
            // Every word required, each one as a word: the query's own operators are not the user's to use.
            command.Parameters.AddWithValue("@query", string.Join(' ', words.Select(word => $"+\"{word}\"")));
            command.Parameters.AddWithValue("@limit", limit + 1);
            command.Parameters.AddWithValue("@after", after is null ? 0 : 1);
            command.Parameters.AddWithValue("@updated", after?.UpdatedAt ?? DateTime.MinValue);
            command.Parameters.AddWithValue("@id", after?.RowId ?? 0);
            var page = new List<ConversationSummary>(limit + 1);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                page.Add(ReadSummary(reader) with { BestMatch = reader.GetString("best_match") });
            }
            return (page, TrimPage(page, limit));
        }, cancellationToken);
    }

    /// <summary>One of the user's conversations, or null.</summary>
    public async Task<ConversationSummary?> GetSummaryAsync(string conversationId, long userId, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return null;
        }
        const string sql = $"SELECT {SummaryColumns} FROM conversation_store WHERE conv_id = @conv AND user_id = @user";
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadSummary(reader) : null;
        }, cancellationToken);
    }

    /// <summary>Renames one of the user's conversations; the renamed conversation, or null when it is not the user's.</summary>
    public async Task<ConversationSummary?> RenameAsync(
        string conversationId, long userId, string chatName, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return null;
        }
        // Not a sign of activity: the conversation keeps its place in the list.
        const string sql = $"""
            UPDATE conversation_store SET chat_name = @name, updated_at = updated_at
            WHERE conv_id = @conv AND user_id = @user;
            SELECT {SummaryColumns} FROM conversation_store WHERE conv_id = @conv AND user_id = @user;
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@name", chatName);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadSummary(reader) : null;
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes one of the user's conversations with its messages and keys, and flags its running replies for their
    /// instances to stop. False when it is not the user's.
    /// </summary>
    public async Task<bool> DeleteAsync(string conversationId, long userId, CancellationToken cancellationToken)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return false;
        }
        // The conversation's row first (the lock order of TurnStore), then its messages and responses, then the row:
        // no cascading foreign key does it (V12, for Group Replication). READ COMMITTED as a turn's, so that the deletes
        // by conv_id lock no gap that another conversation's insert needs.
        const string sql = $"""
            {TurnStore.StartTransaction}
            SET @turn_del_conv = NULL;
            SELECT conv_id INTO @turn_del_conv FROM conversation_store WHERE conv_id = @conv AND user_id = @user FOR UPDATE;
            DELETE FROM message_store WHERE conv_id = @turn_del_conv;
            DELETE FROM tool_call WHERE conv_id = @turn_del_conv;
            DELETE FROM response WHERE conv_id = @turn_del_conv;
            DELETE FROM conversation_store WHERE conv_id = @turn_del_conv;
            SELECT ROW_COUNT() AS deleted;
            DELETE FROM idempotency_key WHERE user_id = @user AND conv_id = @conv;
            UPDATE reply_progress SET cancel_requested = 1 WHERE conv_id = @conv;
            {UnitOfWork.Commit}
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var deleted = await reader.ReadAsync(cancellationToken) && reader.GetInt64("deleted") == 1;
            await reader.ReadToEndAsync(cancellationToken);
            return deleted;
        }, cancellationToken);
    }

    /// <summary>
    /// Sets (or, with a null <paramref name="rating"/>, removes) the user's feedback on a reply of theirs; false when
    /// there is no such reply (a user message is not one).
    /// </summary>
    public async Task<bool> SetFeedbackAsync(
        string conversationId, long userId, string messageId, string? rating, string? comment, CancellationToken cancellationToken)
    {
        if (!Ids.CanExist(conversationId, messageId))
        {
            return false;
        }
        // Feedback is not activity: the reply's updated_at and the conversation's place in the list stay.
        const string sql = """
            UPDATE message_store m JOIN conversation_store c ON c.conv_id = m.conv_id
            SET m.feedback_rating = @rating, m.feedback_comment = @comment,
                m.feedback_at = IF(@rating IS NULL, NULL, UTC_TIMESTAMP(6)), m.updated_at = m.updated_at
            WHERE m.conv_id = @conv AND m.message_id = @mid AND m.role = 'assistant' AND c.user_id = @user
            """;
        return await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@mid", messageId);
            command.Parameters.AddWithValue("@user", userId);
            command.Parameters.AddWithValue("@rating", rating);
            command.Parameters.AddWithValue("@comment", comment);
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);
    }

    // A page is read one row longer than asked: that row, dropped here, says whether more remain.
    private static bool TrimPage<T>(List<T> page, int limit)
    {
        if (page.Count <= limit)
        {
            return false;
        }
        page.RemoveAt(page.Count - 1);
        return true;
    }

    /// <summary>Names a conversation that nobody has named yet; a rename that came first stands.</summary>
    public async Task SetAutoTitleAsync(string conversationId, string title, CancellationToken cancellationToken)
    {
        const string sql = """
            UPDATE conversation_store SET chat_name = @name, updated_at = updated_at
            WHERE conv_id = @conv AND chat_name = 'NEW CHAT'
            """;
        await dataSource.RunAsync(async connection =>
        {
            await using var command = new MySqlCommand(sql, connection);
            command.Parameters.AddWithValue("@conv", conversationId);
            command.Parameters.AddWithValue("@name", title);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private static ConversationSummary ReadSummary(MySqlDataReader reader) => new(
        RowId: reader.GetInt64("ID"),
        ConversationId: reader.GetString("conv_id"),
        ChatName: reader.GetString("chat_name"),
        MessageCount: reader.GetInt32("message_count"),
        CreatedAt: DateTime.SpecifyKind(reader.GetDateTime("created_at"), DateTimeKind.Utc),
        UpdatedAt: DateTime.SpecifyKind(reader.GetDateTime("updated_at"), DateTimeKind.Utc));

    // Reads the reader's current row and the rest of its result set as messages, finding each column once.
    private static async Task<List<StoredMessage>> ReadMessagesAsync(MySqlDataReader reader, CancellationToken cancellationToken)
    {
        var role = reader.GetOrdinal("role");
        var message = reader.GetOrdinal("message");
        var messageNo = reader.GetOrdinal("message_no");
        var messageId = reader.GetOrdinal("message_id");
        var status = reader.GetOrdinal("Status");
        var elapsed = reader.GetOrdinal("elapsed_time");
        var createdAt = reader.GetOrdinal("created_at");
        var model = reader.GetOrdinal("model");
        var inputTokens = reader.GetOrdinal("input_tokens");
        var outputTokens = reader.GetOrdinal("output_tokens");
        var finishReason = reader.GetOrdinal("finish_reason");
        var timeToFirstToken = reader.GetOrdinal("time_to_first_token");
        var errorCode = reader.GetOrdinal("error_code");
        var feedbackRating = reader.GetOrdinal("feedback_rating");
        var feedbackComment = reader.GetOrdinal("feedback_comment");
        var toolCalls = reader.GetOrdinal("tool_calls");

        var messages = new List<StoredMessage>();
        do
        {
            messages.Add(new StoredMessage(
                Role: reader.GetString(role),
                Message: reader.GetString(message),
                MessageNo: reader.GetInt32(messageNo),
                MessageId: reader.GetString(messageId),
                Status: Enum.Parse<MessageStatus>(reader.GetString(status)),
                ElapsedMs: NullableInt(elapsed),
                CreatedAt: DateTime.SpecifyKind(reader.GetDateTime(createdAt), DateTimeKind.Utc),
                Model: NullableString(model),
                InputTokens: NullableInt(inputTokens),
                OutputTokens: NullableInt(outputTokens),
                FinishReason: NullableString(finishReason),
                TimeToFirstTokenMs: NullableInt(timeToFirstToken),
                ErrorCode: NullableString(errorCode),
                FeedbackRating: NullableString(feedbackRating),
                FeedbackComment: NullableString(feedbackComment))
            {
                ToolCalls = NullableString(toolCalls),
            });
        }
        while (await reader.ReadAsync(cancellationToken));
        return messages;

        int? NullableInt(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);
        string? NullableString(int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    }

    /// <summary>
    /// The answered turns the turn of row <paramref name="messageNo"/> follows, newest first, at most
    /// <paramref name="limit"/> messages: in a branched conversation the path to its branch point, never a sibling.
    /// </summary>
    public async Task<IReadOnlyList<ContextMessage>> GetContextAsync(
        string conversationId, int messageNo, int limit, CancellationToken cancellationToken)
    {
        // A user message counts only once answered, and only an answer is a Success assistant row, so a failed,
        // cancelled or unfinished turn is never replayed as context. The first statement says whether the rows of
        // the second (a linear conversation's) are the context, or the tree's path must be read instead.
        const string sql = """
            SELECT branched FROM conversation_store WHERE conv_id = @conv;
            SELECT role, message, message_no, token_count, tool_calls
            FROM message_store
            WHERE conv_id = @conv AND message_no < @before AND Status = 'Success'
            ORDER BY message_no DESC
            LIMIT @limit;
            """;
        return await dataSource.RunAsync<IReadOnlyList<ContextMessage>>(async connection =>
        {
            bool branched;
            List<ContextMessage> messages;
            await using (var command = new MySqlCommand(sql, connection))
            {
                command.Parameters.AddWithValue("@conv", conversationId);
                command.Parameters.AddWithValue("@before", messageNo);
                command.Parameters.AddWithValue("@limit", limit);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                branched = await reader.ReadAsync(cancellationToken) && reader.GetBoolean(0);
                await reader.NextResultAsync(cancellationToken);
                messages = await ReadContextAsync(reader, cancellationToken);
            }
            if (!branched)
            {
                return messages;
            }
            var tree = await ReadTreeAsync(connection, conversationId, cancellationToken);
            var path = tree.PathTo(tree.PredecessorOfRow(messageNo));
            if (path is [])
            {
                return [];
            }
            var onPath = $"""
                SELECT role, message, message_no, token_count, tool_calls
                FROM message_store
                WHERE conv_id = @conv AND message_no IN ({string.Join(',', path)}) AND Status = 'Success'
                ORDER BY message_no DESC
                LIMIT @limit
                """;
            await using var pathCommand = new MySqlCommand(onPath, connection);
            pathCommand.Parameters.AddWithValue("@conv", conversationId);
            pathCommand.Parameters.AddWithValue("@limit", limit);
            await using var pathReader = await pathCommand.ExecuteReaderAsync(CommandBehavior.SingleResult, cancellationToken);
            return await ReadContextAsync(pathReader, cancellationToken);
        }, cancellationToken);
    }

    private static async Task<List<ContextMessage>> ReadContextAsync(MySqlDataReader reader, CancellationToken cancellationToken)
    {
        var messages = new List<ContextMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new ContextMessage(
                reader.GetString("role"), reader.GetString("message"), reader.GetInt32("message_no"),
                reader.GetNullableInt32("token_count"), reader.GetNullableString("tool_calls")));
        }
        return messages;
    }
}
