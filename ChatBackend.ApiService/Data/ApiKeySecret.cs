using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace ChatBackend.ApiService.Data;

/// <summary>
/// What an API key is: <see cref="Prefix"/> and 43 letters and digits from a cryptographic source (256 bits), so that
/// it is recognisable in a header, a log or a leaked file, and selects with one double click. Only its SHA-256 is kept.
/// </summary>
public static class ApiKeySecret
{
    /// <summary>How every key begins: how a bearer credential is told from a token.</summary>
    public const string Prefix = "cbk_";

    /// <summary>The random part's length: 43 of 62 characters, 256 bits.</summary>
    public const int RandomLength = 43;

    /// <summary>How many random characters the shown prefix keeps: 8 (about 48 bits), leaving 208 bits unshown.</summary>
    public const int ShownRandomLength = 8;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private static readonly SearchValues<char> AlphabetValues = SearchValues.Create(Alphabet);

    public static string NewKey() => Prefix + RandomNumberGenerator.GetString(Alphabet, RandomLength);

    /// <summary>Whether <paramref name="key"/> has a key's form; any other is refused without asking the database.</summary>
    public static bool IsWellFormed(string key) =>
        key.Length == Prefix.Length + RandomLength && key.StartsWith(Prefix, StringComparison.Ordinal)
        && !key.AsSpan(Prefix.Length).ContainsAnyExcept(AlphabetValues);

    /// <summary>The part of a key that is shown to its user (and stored) to tell keys apart: cbk_ and 8 characters.</summary>
    public static string ShownPrefix(string key) => key[..(Prefix.Length + ShownRandomLength)];

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.ASCII.GetBytes(key));
}
