using System.ComponentModel.DataAnnotations;

namespace ChatBackend.ApiService.Chat;

/// <summary>The <c>Chat</c> section: the prompt, the limits and the time budget of a turn.</summary>
public sealed class ChatTurnOptions
{
    public const string SectionName = "Chat";

    [Required(AllowEmptyStrings = false)]
    public string SystemPrompt { get; set; } = "You are a helpful assistant. Be concise and friendly.";

    [Range(1, 1_000_000)]
    public int MaxOutputTokens { get; set; } = 512;

    [Range(0.0, 2.0)]
    public float Temperature { get; set; } = 0.7f;

    /// <summary>
    /// How long a turn's model call may take, retries included: running out while the provider is being waited on is a
    /// 504; running out while its answers kept failing is a 502.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The models a request may name (/v1/responses' model); none listed: only the configured model.</summary>
    public string[] Models { get; set; } = [];

    /// <summary>The longest accepted message, in characters.</summary>
    [Range(1, 1_000_000)]
    public int MaxMessageLength { get; set; } = 32_000;

    /// <summary>The largest request body accepted, in bytes; a larger one is a 413.</summary>
    [Range(1_024, 1_073_741_824)]
    public long MaxRequestBytes { get; set; } = 1_048_576;

    /// <summary>The longest request target (path and query string) accepted, in bytes (Kestrel's default); longer is a 414.</summary>
    [Range(1_024, 1_048_576)]
    public int MaxRequestTargetBytes { get; set; } = 8_192;

    /// <summary>The most header bytes a request may carry (Kestrel's default); more is a 431.</summary>
    [Range(1_024, 1_048_576)]
    public int MaxRequestHeadersBytes { get; set; } = 32_768;

    /// <summary>How many earlier messages of the conversation are read for the context at most.</summary>
    [Range(0, 10_000)]
    public int HistoryMaxMessages { get; set; } = 200;

    /// <summary>
    /// Whether a new conversation's chat_name becomes a short title once its first reply is stored: written by the model
    /// in one small call off the request path, or the message's first words with the offline responder.
    /// </summary>
    public bool AutoTitle { get; set; } = true;

    /// <summary>How long the title call may take; a title that does not come leaves NEW CHAT.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan AutoTitleTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The most messages GET /get-conversation-history answers without a limit (its answer for old clients).</summary>
    [Range(1, 1_000_000)]
    public int HistoryMaxPage { get; set; } = 10_000;

    /// <summary>
    /// The most tokens one model request's messages may take (system prompt, earlier turns, new message). Unset:
    /// the model's context window less <see cref="MaxOutputTokens"/>.
    /// </summary>
    [Range(1, 10_000_000)]
    public int? HistoryTokenBudget { get; set; }

    /// <summary>How often a 429 or 5xx answer of the provider is retried before the turn fails with 502.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry's median delay; later ones grow exponentially, jittered. A Retry-After header wins.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a reply stream may stay silent before a keep-alive comment is sent.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often an instance writes the text of its running replies so far, and with it their heartbeat, for the other
    /// instances: to resume a stream, to cancel, and to take over a turn whose instance died. Zero turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public bool ProgressEnabled => ProgressInterval > TimeSpan.Zero;

    /// <summary>
    /// A Pending turn silent this long belongs to an instance that died; a retry or a resume takes it over. With
    /// progress writes, a dozen missed intervals (3 s at least); without them, the turn's whole time limit and 30 s.
    /// </summary>
    public TimeSpan AbandonedAfter => ProgressEnabled
        ? TimeSpan.FromTicks(Math.Max(ProgressInterval.Ticks * 12, TimeSpan.FromSeconds(3).Ticks))
        : Timeout + TimeSpan.FromSeconds(30);

    /// <summary>
    /// A Pending turn silent this long is ended as Error (abandoned) by the stale rows' sweep: longer than any turn may
    /// run and than a takeover waits, by a minute.
    /// </summary>
    public TimeSpan PendingSweepSilence => TimeSpan.FromTicks(Math.Max(Timeout.Ticks, AbandonedAfter.Ticks)) + TimeSpan.FromMinutes(1);
}
