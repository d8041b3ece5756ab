using System.Globalization;
using System.Text;

namespace ChatBackend.ApiService.Apis;

/// <summary>The words of a search, and the snippet of a message around the first of them.</summary>
public static class SearchText
{
    private const int MaxWords = 10;

    // InnoDB indexes words of at most 84 characters (innodb_ft_max_token_size).
    private const int MaxWordLength = 84;

    private const int Before = 60;
    private const int After = 100;

    private static readonly CompareInfo Compare = CultureInfo.InvariantCulture.CompareInfo;

    /// <summary>The runs of letters and digits of <paramref name="query"/>, in any script: at most ten, each cut to 84.</summary>
    public static IReadOnlyList<string> Words(string query)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var rune in (query + " ").EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                word.Append(rune.ToString());
                continue;
            }
            if (word.Length > 0 && words.Count < MaxWords)
            {
                words.Add(word.Length > MaxWordLength ? word.ToString(0, MaxWordLength) : word.ToString());
            }
            word.Clear();
        }
        return words;
    }

    /// <summary>About 160 characters of <paramref name="message"/> around the first word found, on word boundaries.</summary>
    public static string Snippet(string message, IReadOnlyList<string> words)
    {
        var at = words
            .Select(word => Compare.IndexOf(message, word, CompareOptions.IgnoreCase | CompareOptions.IgnoreNonSpace))
            .Where(index => index >= 0)
            .DefaultIfEmpty(0)
            .Min();
        var start = Math.Max(0, at - Before);
        var end = Math.Min(message.Length, at + After);
        while (start > 0 && !char.IsWhiteSpace(message[start - 1]) && at - start < Before + 20)
        {
            start--;
        }
        while (end < message.Length && !char.IsWhiteSpace(message[end]) && end - at < After + 20)
        {
            end++;
        }
        // Never cut a surrogate pair in two.
        if (start > 0 && char.IsLowSurrogate(message[start]))
        {
            start--;
        }
        if (end < message.Length && char.IsLowSurrogate(message[end]))
        {
            end++;
        }
        var snippet = message[start..end].Trim();
        return (start > 0 ? "…" : "") + snippet + (end < message.Length ? "…" : "");
    }
}
