using System.Diagnostics;
using OpenTelemetry;

namespace ChatBackend.ApiService.Model;

/// <summary>
/// Tags each span of a chat turn (the gen_ai <c>chat {model}</c> span and the HTTP call beneath it) with the
/// conversation id that the turn's own span carries. Microsoft.Extensions.AI.ChatOptions.ConversationId would do it too, but the OpenAI
/// Responses client sends that to the provider as a response id.
/// </summary>
public sealed class ConversationIdEnricher : BaseProcessor<Activity>
{
    public const string TagName = "gen_ai.conversation.id";

    public override void OnStart(Activity data)
    {
        for (var parent = data.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent.GetTagItem(TagName) is string conversationId)
            {
                data.SetTag(TagName, conversationId);
                return;
            }
        }
    }
}
