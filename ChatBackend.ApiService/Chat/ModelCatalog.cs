using ChatBackend.ApiService.Model;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>The models a request may name (<c>Chat:Models</c>; the configured model when none are listed).</summary>
public sealed class ModelCatalog(IOptions<ChatTurnOptions> chat, IOptions<ModelOptions> model)
{
    public IReadOnlyList<string> Models { get; } = chat.Value.Models is { Length: > 0 } listed ? listed : [model.Value.Connection.Model];

    public bool Allows(string name) => Models.Contains(name, StringComparer.Ordinal);

    /// <summary>Why a request that names <paramref name="name"/> is refused, for its model field.</summary>
    public string NotOffered(string name) => $"The model '{name}' is not offered here (Chat:Models: {string.Join(", ", Models)}).";
}
