namespace ChatBackend.ApiService.Data;

/// <summary>A row of a conversation as its tree needs it: its number, role and id, and the parent_no stored with it.</summary>
public readonly record struct TreeRow(int MessageNo, string Role, string MessageId, int? ParentNo);

/// <summary>
/// A branched conversation as a tree (V11): every row follows one earlier row, the one its parent_no names (0, the
/// conversation's start) or, without one, the row numbered right before it; a deleted row is passed through to the one
/// before it, as a linear conversation always did. A branch is the path from the start to a row; the newest branch
/// below a row ends at the highest number whose path passes through it. Built from the rows in number order.
/// </summary>
public sealed class ConversationTree
{
    private readonly Dictionary<int, TreeRow> _rows;
    private readonly Dictionary<string, TreeRow> _byId;
    private readonly Dictionary<int, int> _predecessor = [];
    private readonly Dictionary<int, List<TreeRow>> _children = [];
    private readonly Dictionary<int, int> _newestBelow = [];

    public ConversationTree(IReadOnlyList<TreeRow> rowsInOrder)
    {
        _rows = rowsInOrder.ToDictionary(row => row.MessageNo);
        _byId = rowsInOrder.ToDictionary(row => row.MessageId, StringComparer.Ordinal);
        foreach (var row in rowsInOrder)
        {
            var predecessor = PredecessorOf(row.MessageNo);
            _predecessor[row.MessageNo] = predecessor;
            (_children.TryGetValue(predecessor, out var children) ? children : _children[predecessor] = []).Add(row);
        }
        // A row always follows a lower number, so one pass from the highest carries each row's newest descendant up.
        _newestBelow[0] = 0;
        for (var index = rowsInOrder.Count - 1; index >= 0; index--)
        {
            var number = rowsInOrder[index].MessageNo;
            var newest = Math.Max(number, _newestBelow.GetValueOrDefault(number));
            _newestBelow[number] = newest;
            var predecessor = _predecessor[number];
            _newestBelow[predecessor] = Math.Max(_newestBelow.GetValueOrDefault(predecessor), newest);
        }
    }

    /// <summary>
    /// The statements that keep a branch's rows on their branch when the rows numbered <paramref name="first"/> to
    /// <paramref name="last"/> (SQL expressions) are about to be deleted: the rows that followed them (a parent_no
    /// among them, or none and the next number that exists) are set to follow <paramref name="parent"/>, the row the
    /// first followed. Without it, the tree passes such a row down to whatever is numbered below, on another branch.
    /// Run before the DELETE, under the conversation's lock, when <paramref name="when"/> holds; the rows' updated_at
    /// (a Pending row's abandonment clock) stays.
    /// </summary>
    internal static string KeepFollowersSql(string conversation, string first, string last, string parent, string when) => $"""
        SET @tree_next = (SELECT MIN(message_no) FROM message_store WHERE conv_id = {conversation} AND message_no > {last});
        UPDATE message_store SET parent_no = {parent}, updated_at = updated_at
        WHERE conv_id = {conversation} AND {when} AND message_no > {last}
          AND (parent_no BETWEEN {first} AND {last} OR (parent_no IS NULL AND message_no = @tree_next));

        """;

    /// <summary>The row with this id, if the conversation has one.</summary>
    public TreeRow? Find(string messageId) => _byId.TryGetValue(messageId, out var row) ? row : null;

    /// <summary>
    /// The numbers of the branch through <paramref name="messageNo"/> (0: the conversation's start), from the start to
    /// the newest row below it.
    /// </summary>
    public List<int> NewestBranchThrough(int messageNo) => PathTo(_newestBelow.GetValueOrDefault(messageNo, messageNo));

    /// <summary>The numbers of the rows a new row that follows <paramref name="messageNo"/> has before it, oldest first.</summary>
    public List<int> PathTo(int messageNo)
    {
        var path = new List<int>();
        for (var number = _rows.ContainsKey(messageNo) ? messageNo : PredecessorOf(messageNo); number > 0; number = _predecessor[number])
        {
            path.Add(number);
        }
        path.Reverse();
        return path;
    }

    /// <summary>The row that the turn of row <paramref name="messageNo"/> follows (its predecessor), or 0.</summary>
    public int PredecessorOfRow(int messageNo) => _predecessor.TryGetValue(messageNo, out var predecessor) ? predecessor : PredecessorOf(messageNo);

    /// <summary>
    /// The ids of the rows beside <paramref name="row"/>, itself included, oldest first: the messages that follow the
    /// same row (edits and regenerations of one turn); for a reply, the replies of those messages.
    /// </summary>
    public IReadOnlyList<string> SiblingsOf(TreeRow row)
    {
        var predecessor = _predecessor[row.MessageNo];
        if (row.Role == "assistant" && _rows.TryGetValue(predecessor, out var message) && message.Role != "assistant")
        {
            return [.. Beside(message).Select(turn => Children(turn.MessageNo).FirstOrDefault(child => child.Role == "assistant").MessageId)
                .Where(id => id is not null)];
        }
        return [.. Beside(row).Select(sibling => sibling.MessageId)];
    }

    private IEnumerable<TreeRow> Beside(TreeRow row) =>
        Children(_predecessor[row.MessageNo]).Where(sibling => (sibling.Role == "assistant") == (row.Role == "assistant"));

    private List<TreeRow> Children(int messageNo) => _children.TryGetValue(messageNo, out var children) ? children : [];

    // The stored parent, or the number right before; a number with no row (deleted) is passed through downwards.
    private int PredecessorOf(int messageNo)
    {
        var number = _rows.TryGetValue(messageNo, out var row) && row.ParentNo is { } parent ? parent : messageNo - 1;
        while (number > 0 && !_rows.ContainsKey(number))
        {
            number--;
        }
        return number;
    }
}
