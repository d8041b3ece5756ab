namespace ChatBackend.ApiService.Data;

/// <summary>Why a turn ended without a reply: message_store.error_code, as <see cref="TurnErrors.Code"/> spells it.</summary>
public enum TurnError
{
    /// <summary>The model did not answer within Chat:Timeout.</summary>
    Timeout,

    /// <summary>The host stopped before the reply was finished; what was generated is kept.</summary>
    ServerStopping,

    /// <summary>The model provider answered with an error, or kept failing until the turn's time ran out.</summary>
    ProviderError,

    /// <summary>The model's stream ended without saying why: an answer cut short.</summary>
    NoFinishReason,

    /// <summary>The model answered with nothing.</summary>
    EmptyReply,

    /// <summary>A cancel stopped the reply; what was generated is kept.</summary>
    Cancelled,

    /// <summary>The database failed while the turn ran.</summary>
    Database,

    /// <summary>An MCP server the turn was to use could not be reached to list its tools.</summary>
    ToolServer,

    /// <summary>No instance ran the turn any more (its instance died, and no retry took it over): StaleRowsPurge.</summary>
    Abandoned,
}

/// <summary>The stored spelling of <see cref="TurnError"/>, both ways.</summary>
public static class TurnErrors
{
    public static string Code(this TurnError error) => error switch
    {
        TurnError.Timeout => "timeout",
        TurnError.ServerStopping => "server_stopping",
        TurnError.ProviderError => "provider_error",
        TurnError.NoFinishReason => "no_finish_reason",
        TurnError.EmptyReply => "empty_reply",
        TurnError.Cancelled => "cancelled",
        TurnError.Database => "database",
        TurnError.ToolServer => "tool_server",
        TurnError.Abandoned => "abandoned",
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, null),
    };

    /// <summary>The error a stored code names; null for none, or for a code this version does not know.</summary>
    public static TurnError? Parse(string? code) => code switch
    {
        "timeout" => TurnError.Timeout,
        "server_stopping" => TurnError.ServerStopping,
        "provider_error" => TurnError.ProviderError,
        "no_finish_reason" => TurnError.NoFinishReason,
        "empty_reply" => TurnError.EmptyReply,
        "cancelled" => TurnError.Cancelled,
        "database" => TurnError.Database,
        "tool_server" => TurnError.ToolServer,
        "abandoned" => TurnError.Abandoned,
        _ => null,
    };
}
