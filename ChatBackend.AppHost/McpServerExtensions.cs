namespace ChatBackend.AppHost;

/// <summary>
/// An MCP server of the app model handed to the API by reference, under a label requests name it by
/// (<c>Tools:Mcp:Servers:{label}:Url</c>): a resource's HTTP endpoint (a project or container serving MCP), or a
/// connection string whose value is the server's URL (a server outside the app model, a deployment's parameter).
/// Its headers, when it needs any, come from the AppHost's Tools section as secret parameters (<c>WithTools</c>).
/// </summary>
public static class McpServerExtensions
{
    public static IResourceBuilder<ProjectResource> WithMcpServer(
        this IResourceBuilder<ProjectResource> api, string label, IResourceBuilder<IResourceWithEndpoints> server, string path = "/mcp")
    {
        var endpoint = server.GetEndpoint("http");
        return api.WithEnvironment(UrlVariable(label), ReferenceExpression.Create($"{endpoint}{path}"));
    }

    public static IResourceBuilder<ProjectResource> WithMcpServer(
        this IResourceBuilder<ProjectResource> api, string label, IResourceBuilder<IResourceWithConnectionString> server) =>
        api.WithEnvironment(UrlVariable(label), server);

    private static string UrlVariable(string label) => $"Tools__Mcp__Servers__{label}__Url";
}
