using System.Security.Cryptography;

namespace ChatBackend.ApiService.Data;

/// <summary>Server-made ids from a cryptographic source, so that no id can be guessed from another.</summary>
public static class Ids
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>The original's form: 8 + 4 lowercase letters and digits (about 62 bits).</summary>
    public static string NewConversationId() => $"{Random(8)}-{Random(4)}";

    public static string NewMessageId() => $"m-{Random(16)}";

    public static string NewReplyId() => $"r-{Random(16)}";

    private static string Random(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
