using System.Text.Json;
using ChatBackend.ApiService.Chat;
using ChatBackend.ApiService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Apis;

/// <summary>
/// OpenAI's Conversations API over the native conversations: the same conversations with the same ids (one made here
/// is listed, read, renamed and deleted by the native endpoints, and the other way round), their messages as items.
/// </summary>
public static class ConversationsV1Api
{
    /// <summary>OpenAI's bound on the items a request may add at once.</summary>
    private const int MaxItemsPerRequest = 20;

    private static readonly int[] Problems404 = [StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable];

    public static IEndpointRouteBuilder MapConversationsV1Api(this IEndpointRouteBuilder routes)
    {
        var v1 = routes.MapGroup($"{OpenAIErrorWriter.PathPrefix}/conversations").WithTags("OpenAI Conversations");
        v1.MapPost("", CreateAsync).WithName("CreateConversationV1").WithSummary("Create a conversation, with items (messages) and metadata")
            .Accepts<JsonElement>("application/json")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);
        v1.MapGet("/{conversation_id}", GetAsync).WithName("GetConversationV1").WithSummary("Retrieve a conversation")
            .ProducesProblems(Problems404);
        v1.MapPost("/{conversation_id}", UpdateAsync).WithName("UpdateConversationV1").WithSummary("Replace a conversation's metadata")
            .Accepts<JsonElement>("application/json")
            .ProducesProblems([StatusCodes.Status400BadRequest, .. Problems404]);
        v1.MapDelete("/{conversation_id}", DeleteAsync).WithName("DeleteConversationV1").WithSummary("Delete a conversation with its messages and responses")
            .ProducesProblems(Problems404);
        v1.MapGet("/{conversation_id}/items", ListItemsAsync).WithName("ListConversationItemsV1").WithSummary("A conversation's items, paged")
            .ProducesProblems([StatusCodes.Status400BadRequest, .. Problems404]);
        v1.MapPost("/{conversation_id}/items", AddItemsAsync).WithName("CreateConversationItemsV1").WithSummary("Add messages to a conversation")
            .Accepts<JsonElement>("application/json")
            .ProducesProblems([StatusCodes.Status400BadRequest, .. Problems404]);
        v1.MapGet("/{conversation_id}/items/{item_id}", GetItemAsync).WithName("GetConversationItemV1").WithSummary("One item of a conversation")
            .ProducesProblems(Problems404);
        v1.MapDelete("/{conversation_id}/items/{item_id}", DeleteItemAsync).WithName("DeleteConversationItemV1")
            .WithSummary("Delete one item of a conversation; the conversation")
            .ProducesProblems([StatusCodes.Status409Conflict, .. Problems404]);
        return routes;
    }

    public static async Task<Results<Ok<ConversationObject>, ProblemHttpResult>> CreateAsync(
        [FromBody] JsonElement body, Caller caller, ConversationItems store, PromptBuilder prompts, IOptions<ChatTurnOptions> options,
        CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        if (!TryRead(body, prompts, options.Value.MaxMessageLength, required: false, out var items, out var metadata, out var errors))
        {
            return Problems.Invalid(errors);
        }
        var (head, _) = await store.CreateAsync(userId, Serialize(metadata), items, cancellationToken);
        return TypedResults.Ok(ObjectOf(head));
    }

    public static async Task<Results<Ok<ConversationObject>, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "conversation_id")] string conversationId, Caller caller, ConversationItems store,
        CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        return await store.GetAsync(conversationId, userId, cancellationToken) is { } head
            ? TypedResults.Ok(ObjectOf(head))
            : NotFound(conversationId);
    }

    public static async Task<Results<Ok<ConversationObject>, ProblemHttpResult>> UpdateAsync(
        [FromRoute(Name = "conversation_id")] string conversationId, [FromBody] JsonElement body, Caller caller,
        ConversationItems store, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        var errors = new Dictionary<string, string[]>();
        var metadata = body.ValueKind == JsonValueKind.Object
            ? ResponseCreateInput.ReadMetadata(body, (param, message) => errors.TryAdd(param, [message]))
            : [];
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("metadata", out _))
        {
            errors.TryAdd("metadata", ["metadata is required: an object of string values."]);
        }
        if (errors.Count > 0)
        {
            return Problems.Invalid(errors);
        }
        if (!await store.SetMetadataAsync(conversationId, userId, Serialize(metadata), cancellationToken)
            || await store.GetAsync(conversationId, userId, cancellationToken) is not { } head)
        {
            return NotFound(conversationId);
        }
        return TypedResults.Ok(ObjectOf(head));
    }

    public static async Task<Results<Ok<DeletedObject>, ProblemHttpResult>> DeleteAsync(
        [FromRoute(Name = "conversation_id")] string conversationId, Caller caller, ConversationQueries conversations,
        ChatTurnService chat, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        if (!await conversations.DeleteAsync(conversationId, userId, cancellationToken))
        {
            return NotFound(conversationId);
        }
        chat.StopConversation(conversationId);
        return TypedResults.Ok(new DeletedObject(conversationId, "conversation.deleted"));
    }

    public static async Task<Results<Ok<ListObject<ConversationItemObject>>, ProblemHttpResult>> ListItemsAsync(
        [FromRoute(Name = "conversation_id")] string conversationId,
        [FromQuery(Name = "after")] string? after,
        [FromQuery(Name = "limit")] int? limit,
        [FromQuery(Name = "order")] string? order,
        Caller caller, ConversationItems store, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        if (ResponsesApi.InvalidPage(limit, order) is { } invalid)
        {
            return invalid;
        }
        var page = await store.ListAsync(conversationId, userId, after, limit ?? ResponsesApi.DefaultPageSize, ascending: order == "asc", cancellationToken);
        if (page is null)
        {
            return NotFound(conversationId);
        }
        if (page.AfterNotFound)
        {
            return ResponsesApi.AfterNotFound(after!);
        }
        List<ConversationItemObject> data = [.. page.Items.Select(ItemOf)];
        return TypedResults.Ok(new ListObject<ConversationItemObject>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, page.HasMore));
    }

    public static async Task<Results<Ok<ListObject<ConversationItemObject>>, ProblemHttpResult>> AddItemsAsync(
        [FromRoute(Name = "conversation_id")] string conversationId, [FromBody] JsonElement body, Caller caller,
        ConversationItems store, PromptBuilder prompts, IOptions<ChatTurnOptions> options, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        if (!TryRead(body, prompts, options.Value.MaxMessageLength, required: true, out var items, out _, out var errors))
        {
            return Problems.Invalid(errors);
        }
        if (await store.AddAsync(conversationId, userId, items, cancellationToken) is not { } ids)
        {
            return NotFound(conversationId);
        }
        List<ConversationItemObject> added = [.. items.Select((item, index) => ItemOf(ids[index], item.Role, item.Text, MessageStatus.Success))];
        return TypedResults.Ok(new ListObject<ConversationItemObject>(added, added.FirstOrDefault()?.Id, added.LastOrDefault()?.Id, HasMore: false));
    }

    public static async Task<Results<Ok<ConversationItemObject>, ProblemHttpResult>> GetItemAsync(
        [FromRoute(Name = "conversation_id")] string conversationId, [FromRoute(Name = "item_id")] string itemId, Caller caller,
        ConversationItems store, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        return await store.FindAsync(conversationId, userId, itemId, cancellationToken) switch
        {
            (false, _) => NotFound(conversationId),
            (true, { } item) => TypedResults.Ok(ItemOf(item)),
            (true, null) => ItemNotFound(conversationId, itemId),
        };
    }

    public static async Task<Results<Ok<ConversationObject>, ProblemHttpResult>> DeleteItemAsync(
        [FromRoute(Name = "conversation_id")] string conversationId, [FromRoute(Name = "item_id")] string itemId, Caller caller,
        ConversationItems store, CancellationToken cancellationToken)
    {
        if (caller.TokenUserId is not { } userId)
        {
            return ResponsesApi.CredentialRequired();
        }
        return await store.DeleteAsync(conversationId, userId, itemId, cancellationToken) switch
        {
            (ItemDeletion.Deleted, { } head) => TypedResults.Ok(ObjectOf(head)),
            (ItemDeletion.Running, _) => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict, title: "The item's turn is running",
                detail: "Its reply is still being generated: cancel it first (POST /v1/responses/{id}/cancel, or the native cancel).",
                extensions: new Dictionary<string, object?> { ["field"] = "item_id" }),
            (ItemDeletion.ItemNotFound, _) => ItemNotFound(conversationId, itemId),
            _ => NotFound(conversationId),
        };
    }

    private static ConversationItemObject ItemOf(StoredItem item) => ItemOf(item.Id, item.Role, item.Text, item.Status);

    private static ConversationItemObject ItemOf(string id, string role, string text, MessageStatus status) => new(
        id,
        status switch { MessageStatus.Success => ResponseObjects.Completed, MessageStatus.Pending => ResponseObjects.InProgress, _ => ResponseObjects.Incomplete },
        role,
        [new ItemText(role == "assistant" ? "output_text" : "input_text", text)]);

    // `items` (user and assistant messages, at most 20) and `metadata` of a body.
    private static bool TryRead(
        JsonElement body, PromptBuilder prompts, int maxLength, bool required, out List<NewItem> items,
        out Dictionary<string, string> metadata, out Dictionary<string, string[]> errors)
    {
        var found = errors = [];
        items = [];
        metadata = [];
        void Error(string param, string message) => found.TryAdd(param, [message]);
        if (body.ValueKind != JsonValueKind.Object)
        {
            Error("body", "The body must be a JSON object.");
            return false;
        }
        metadata = ResponseCreateInput.ReadMetadata(body, Error);
        if (body.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in list.EnumerateArray())
            {
                var param = $"items[{index++}]";
                if (ResponseCreateInput.MessageItem(item, param, Error) is not var (role, text))
                {
                    continue;
                }
                if (role is not ("user" or "assistant"))
                {
                    Error($"{param}.role", "A conversation keeps user and assistant messages; put instructions in a response's instructions.");
                }
                else if (string.IsNullOrWhiteSpace(text) || text.Length > maxLength)
                {
                    Error($"{param}.content", $"A message must hold 1 to {maxLength} characters (Chat:MaxMessageLength).");
                }
                else
                {
                    items.Add(new NewItem(role, text, prompts.Count(text)));
                }
            }
            if (index > MaxItemsPerRequest)
            {
                Error("items", $"At most {MaxItemsPerRequest} items at once.");
            }
        }
        else if (required || body.TryGetProperty("items", out _))
        {
            Error("items", "items must be a list of message items.");
        }
        return errors.Count == 0;
    }

    private static string? Serialize(Dictionary<string, string> metadata) => metadata.Count == 0 ? null : JsonSerializer.Serialize(metadata);

    private static ConversationObject ObjectOf(ConversationHead head) => new(
        head.ConversationId,
        new DateTimeOffset(head.CreatedAt).ToUnixTimeSeconds(),
        head.Metadata is null ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(head.Metadata) ?? []);

    private static ProblemHttpResult ItemNotFound(string conversationId, string itemId) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "Not found",
        detail: $"No item '{itemId}' in conversation '{conversationId}'.", extensions: new Dictionary<string, object?> { ["field"] = "item_id" });

    private static ProblemHttpResult NotFound(string conversationId) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "Not found",
        detail: $"No conversation '{conversationId}' exists for this user.",
        extensions: new Dictionary<string, object?> { ["field"] = "conversation_id" });
}
