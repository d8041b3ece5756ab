using System.Security.Cryptography;
using System.Text;

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

    /// <summary>
    /// A response's id: 18 random characters (about 93 bits, so that no one finds a response by trying ids), then its
    /// conversation's id in hexadecimal, so that the response is found by its message's key (V18). At most 64
    /// characters, as a message_id. Ids made before V18 are 29 random characters and carry no conversation.
    /// </summary>
    public static string NewResponseId(string conversationId) =>
        $"{ResponsePrefix}{Random(ResponseRandomLength)}{ResponseConversationMark}{Convert.ToHexStringLower(Encoding.ASCII.GetBytes(conversationId))}";

    /// <summary>The conversation a response id of <see cref="NewResponseId"/> names, or null (an id made before V18, or none).</summary>
    public static string? ConversationOfResponse(string responseId)
    {
        var start = ResponsePrefix.Length + ResponseRandomLength;
        if (responseId.Length <= start + 1 || !responseId.StartsWith(ResponsePrefix, StringComparison.Ordinal)
            || responseId[start] != ResponseConversationMark || responseId.Length % 2 != 0)
        {
            return null;
        }
        try
        {
            // Bytes, not characters: ASCII decoding would turn any other byte into a printable '?'.
            var bytes = Convert.FromHexString(responseId.AsSpan(start + 1));
            var conversationId = Encoding.ASCII.GetString(bytes);
            return !bytes.AsSpan().ContainsAnyExceptInRange((byte)'!', (byte)'~') && IsConversationId(conversationId) ? conversationId : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private const int ResponseRandomLength = 18;

    private const char ResponseConversationMark = '_';

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
