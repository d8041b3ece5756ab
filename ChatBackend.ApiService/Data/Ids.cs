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

    /// <summary>A message given as an item of /v1/conversations (OpenAI's form of an item id).</summary>
    public static string NewItemId() => $"msg_{Random(24)}";

    /// <summary>How a response's id begins (OpenAI's form), and so the message_id of its user message.</summary>
    public const string ResponsePrefix = "resp_";

    /// <summary>A response's id: about 150 bits, so that no one finds a response by trying ids.</summary>
    public static string NewResponseId() => $"{ResponsePrefix}{Random(29)}";

    /// <summary>
    /// Whether <paramref name="id"/> could name a conversation: 1 to 20 printable ASCII characters, as the column
    /// keeps them. Any other is not looked for, in any query that takes one from a client (the database would refuse
    /// to compare it with an ASCII column: a 500, not the 404 it is).
    /// </summary>
    public static bool IsConversationId(string id) => IsAscii(id, ConversationIdLength);

    /// <summary>Whether <paramref name="id"/> could name a message: 1 to 64 printable ASCII characters.</summary>
    public static bool IsMessageId(string id) => IsAscii(id, MessageIdLength);

    /// <summary>Whether a message of these ids could exist; the queries by them ask nothing of the database otherwise.</summary>
    public static bool CanExist(string conversationId, string messageId) => IsConversationId(conversationId) && IsMessageId(messageId);

    private const int ConversationIdLength = 20;

    private const int MessageIdLength = 64;

    private static bool IsAscii(string id, int maxLength) =>
        id.Length is > 0 and var length && length <= maxLength && !id.AsSpan().ContainsAnyExceptInRange('!', '~');

    private static string Random(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
