using ChatBackend.AppHost;
using ChatBackend.AppHost.Deployment;
using ChatBackend.AppHost.MySql;

// The distributed application: a MySQL server with a persistent volume and its chatdb database, or an existing server
// (a cluster, a managed one): in a run the one ConnectionStrings:chatdb gives, in a deployment with
// AppHost:ExternalDatabase the connection string as a parameter the deployer gives; the migrator, which waits for the
// database and creates it; the API, which waits for the migrator to complete. MySql/ stands in for Aspire.Hosting.MySql.
var builder = DistributedApplication.CreateBuilder(args);

var existingDatabase = builder.ExecutionContext.IsRunMode
    ? !string.IsNullOrEmpty(builder.Configuration["ConnectionStrings:chatdb"])
    : string.Equals(builder.Configuration["AppHost:ExternalDatabase"], "true", StringComparison.OrdinalIgnoreCase);
IResourceBuilder<IResourceWithConnectionString> chatdb = existingDatabase
    ? builder.AddConnectionString("chatdb").WithPingHealthCheck()
    : builder.AddMySql("mysql").WithDataVolume().AddDatabase("chatdb");

// Every endpoint is plain http: no project is given the development certificate, so Aspire warns of none missing.
var migrator = builder.AddProject<Projects.ChatBackend_DbMigrator>("migrator")
    .WithoutHttpsCertificate()
    .WithReference(chatdb)
    .WaitFor(chatdb);

var api = builder.AddProject<Projects.ChatBackend_ApiService>("apiservice")
    .WithoutHttpsCertificate()
    .WithReference(chatdb)
    .WaitForCompletion(migrator)
    // Each probe is also its HTTP health check here (WithHttpHealthCheck), and a deployment's probe.
    .WithHttpProbe(ProbeType.Readiness, "/health")
    .WithHttpProbe(ProbeType.Liveness, "/alive")
    .WithExternalHttpEndpoints()
    // Users from bearer tokens when the AppHost's configuration has Authentication:Schemes:Bearer; else the original's model.
    .WithBearerScheme()
    // The models /v1/responses may name, when the AppHost's configuration lists Chat:Models.
    .WithChatModels()
    // MCP servers and their headers (secrets), when the AppHost's configuration has a Tools section. A server of the
    // app model is handed over by reference instead: api.WithMcpServer("docs", docsServer).
    .WithTools();

// The model: a deployment's parameter, and in a run the value of ConnectionStrings:openai when the AppHost's
// configuration (user secrets, environment) has one; an unset one would keep the API waiting for its value.
if (builder.ExecutionContext.IsPublishMode || !string.IsNullOrEmpty(builder.Configuration["ConnectionStrings:openai"]))
{
    api.WithReference(builder.AddConnectionString("openai").OptionalInDeployments());
}

// Docker Compose and Kubernetes, besides Aspire's own manifest: `--publisher docker-compose|kubernetes` or `aspire publish`.
builder.AddDeploymentTargets();

// The prompt comes back once every process of the run has ended (RunProcesses.cs).
builder.Build().RunUntilItsProcessesEnd();
