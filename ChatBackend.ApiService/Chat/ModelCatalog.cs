using ChatBackend.ApiService.Model;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Chat;

/// <summary>The models a request may name (<c>Chat:Models</c>; the configured model when none are listed).</summary>
public sealed class ModelCatalog(IOptions<ChatTurnOptions> chat, IOptions<ModelOptions> model)
{
    public IReadOnlyList<string> Models { get; } = chat.Value.Models is { Length: > 0 } listed ? listed : [model.Value.Connection.Model];

    public bool Allows(string name) => Models.Contains(name, StringComparer.Ordinal);
}
