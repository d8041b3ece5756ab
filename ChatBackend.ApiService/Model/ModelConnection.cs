using System.Data.Common;

namespace ChatBackend.ApiService.Model;

public enum ModelProvider
{
    /// <summary>No model configured: the offline responder answers.</summary>
    Offline,

    /// <summary>The OpenAI protocol: OpenAI itself, or a compatible server (Ollama, vLLM, LM Studio...).</summary>
    OpenAI,

    /// <summary>Azure OpenAI, addressed by deployment.</summary>
    AzureOpenAI,
}

/// <summary>
/// Where replies come from (SPEC §5), read from <c>ConnectionStrings:openai</c>, else the original's
/// <c>OPENAI_API_KEY</c>, else nothing (the offline responder). <see cref="Key"/> is a secret: it is never logged.
/// </summary>
public sealed record ModelConnection(ModelProvider Provider, Uri? Endpoint, string? Key, string Model)
{
    public const string ConnectionStringKey = "ConnectionStrings:openai";
    public const string ApiKeyVariable = "OPENAI_API_KEY";

    /// <summary>The original's model, used with <c>OPENAI_API_KEY</c> and when the OpenAI endpoint is OpenAI's own.</summary>
    public const string DefaultOpenAIModel = "gpt-4o-mini";

    private static readonly string[] KnownKeys = ["Endpoint", "Key", "Model", "Deployment"];

    public static readonly ModelConnection Offline = new(ModelProvider.Offline, null, null, OfflineChatClient.ModelName);

    /// <summary>Where the model is, for logs: the provider, the model and the endpoint, never the key.</summary>
    public string Describe() => Provider switch
    {
        ModelProvider.Offline => "the offline responder",
        ModelProvider.AzureOpenAI =>
            $"Azure OpenAI deployment '{Model}' at {PrintableEndpoint} ({(Key is null ? "Azure identity" : "API key")})",
        _ => $"model '{Model}' over the OpenAI protocol at {PrintableEndpoint ?? "OpenAI"}",
    };

    // An endpoint may carry credentials (https://user:secret@host/): they are left out of what is printed.
    private string? PrintableEndpoint =>
        Endpoint is null ? null : new UriBuilder(Endpoint) { UserName = "", Password = "" }.Uri.ToString();

    /// <summary>Reads the connection from configuration; an error names the key that is wrong.</summary>
    public static bool TryRead(IConfiguration configuration, out ModelConnection connection, out string? error)
    {
        connection = Offline;
        error = null;
        var connectionString = configuration[ConnectionStringKey];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return TryParse(connectionString, out connection, out error);
        }
        var apiKey = configuration[ApiKeyVariable];
        if (!string.IsNullOrWhiteSpace(apiKey))
        {
            connection = new ModelConnection(ModelProvider.OpenAI, null, apiKey.Trim(), DefaultOpenAIModel);
        }
        return true;
    }

    private static bool TryParse(string connectionString, out ModelConnection connection, out string? error)
    {
        connection = Offline;
        var parts = new DbConnectionStringBuilder();
        try
        {
            parts.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            // The parser's message may quote the string, key included: say only what is wrong.
            error = $"{ConnectionStringKey} is not a list of Name=value pairs separated by ';'.";
            return false;
        }

        foreach (string name in parts.Keys)
        {
            if (!KnownKeys.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                error = $"{ConnectionStringKey} has an unknown key '{name}'; the keys are {string.Join(", ", KnownKeys)}.";
                return false;
            }
        }

        var endpointText = Value(parts, "Endpoint");
        var key = Value(parts, "Key");
        var model = Value(parts, "Model");
        var deployment = Value(parts, "Deployment");

        Uri? endpoint = null;
        if (endpointText is not null
            && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            error = $"{ConnectionStringKey}: Endpoint must be an absolute http or https URL.";
            return false;
        }

        if (deployment is not null)
        {
            if (model is not null)
            {
                error = $"{ConnectionStringKey} sets both Model and Deployment; set Deployment for Azure OpenAI, Model otherwise.";
                return false;
            }
            if (endpoint is null)
            {
                error = $"{ConnectionStringKey}: Azure OpenAI (a Deployment key) needs an Endpoint, such as https://NAME.openai.azure.com/.";
                return false;
            }
            connection = new ModelConnection(ModelProvider.AzureOpenAI, endpoint, key, deployment);
            error = null;
            return true;
        }

        if (endpoint is null && key is null)
        {
            error = $"{ConnectionStringKey} needs an Endpoint, a Key, or both.";
            return false;
        }
        if (endpoint is not null && model is null)
        {
            error = $"{ConnectionStringKey}: with an Endpoint, a Model key names the model to use (a Deployment key, for Azure OpenAI).";
            return false;
        }
        connection = new ModelConnection(ModelProvider.OpenAI, endpoint, key, model ?? DefaultOpenAIModel);
        error = null;
        return true;
    }

    private static string? Value(DbConnectionStringBuilder parts, string name) =>
        parts.TryGetValue(name, out var value) && value?.ToString() is { } text && !string.IsNullOrWhiteSpace(text) ? text.Trim() : null;

    // Record printing would show the key: keep it out of every string made of this object.
    public override string ToString() => Describe();
}
