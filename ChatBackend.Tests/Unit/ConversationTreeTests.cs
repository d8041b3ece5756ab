using ChatBackend.ApiService.Data;

namespace ChatBackend.Tests.Unit;

/// <summary>A conversation's tree (V11's parent_no) built from its rows: branches, the newest one, siblings, deleted rows.</summary>
[Trait("Category", "Unit")]
public sealed class ConversationTreeTests
{
    // Turns as (user no, parent_no or null); each turn's reply is the number after it.
    private static ConversationTree Tree(params (int No, int? Parent)[] turns) => new(
        [.. turns.SelectMany(turn => new[]
        {
            new TreeRow(turn.No, "user", $"u{turn.No}", turn.Parent),
            new TreeRow(turn.No + 1, "assistant", $"r{turn.No + 1}", null),
        })]);

    [Fact]
    public void ALinearConversationIsOneBranchOfAllItsRows()
    {
        var tree = Tree((1, null), (3, null), (5, null));

        Assert.Equal([1, 2, 3, 4, 5, 6], tree.NewestBranchThrough(0));
        Assert.Equal([1, 2, 3, 4], tree.PathTo(tree.PredecessorOfRow(5)));
        Assert.Equal(["u3"], tree.SiblingsOf(new TreeRow(3, "user", "u3", null)));
    }

    [Fact]
    public void AnEditIsASiblingAndTheNewestBranchIsTheOneWithTheHighestNumber()
    {
        // Turn 5 edits turn 3 (both follow reply 2); turn 7 follows the newest row (6).
        var tree = Tree((1, null), (3, null), (5, 2), (7, null));

        Assert.Equal([1, 2, 5, 6, 7, 8], tree.NewestBranchThrough(0));
        Assert.Equal([1, 2, 3, 4], tree.NewestBranchThrough(3));
        Assert.Equal([1, 2], tree.PathTo(tree.PredecessorOfRow(5)));
        Assert.Equal(["u3", "u5"], tree.SiblingsOf(new TreeRow(5, "user", "u5", 2)));
        Assert.Equal(["r4", "r6"], tree.SiblingsOf(new TreeRow(4, "assistant", "r4", null)));
        Assert.Equal(["u7"], tree.SiblingsOf(new TreeRow(7, "user", "u7", null)));
    }

    [Fact]
    public void AnEditOfTheFirstMessageFollowsTheStart()
    {
        var tree = Tree((1, null), (3, 0));

        Assert.Equal([3, 4], tree.NewestBranchThrough(0));
        Assert.Equal([1, 2], tree.NewestBranchThrough(2));
        Assert.Empty(tree.PathTo(tree.PredecessorOfRow(3)));
        Assert.Equal(["u1", "u3"], tree.SiblingsOf(new TreeRow(1, "user", "u1", null)));
    }

    [Fact]
    public void ADeletedRowIsPassedThroughToTheOneBeforeIt()
    {
        // Turn 3 (rows 3 and 4) was deleted; turn 5 followed its reply.
        var tree = new ConversationTree(
        [
            new TreeRow(1, "user", "u1", null), new TreeRow(2, "assistant", "r2", null),
            new TreeRow(5, "user", "u5", 4), new TreeRow(6, "assistant", "r6", null),
        ]);

        Assert.Equal([1, 2, 5, 6], tree.NewestBranchThrough(0));
        Assert.Equal([1, 2], tree.PathTo(tree.PredecessorOfRow(5)));
    }

    [Fact]
    public void ARowIsFoundByItsId()
    {
        var tree = Tree((1, null));

        Assert.Equal(2, tree.Find("r2")?.MessageNo);
        Assert.Null(tree.Find("nope"));
    }
}
