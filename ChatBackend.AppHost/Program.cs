// The distributed application, the Aspire way: a MySQL server with a persistent volume and its chatdb database; the
// migrator, which waits for the database; the API, which waits for the migrator to complete. Hosting/ is a small
// stand-in for the Aspire.Hosting packages with their names and environment contract, so the services would run
// unchanged under real Aspire.
var builder = DistributedApplication.CreateBuilder(args);

var mysql = builder.AddMySql("mysql")
    .WithDataVolume();
var chatdb = mysql.AddDatabase("chatdb");

var migrator = builder.AddProject<Projects.ChatBackend_DbMigrator>("migrator")
    .WithReference(chatdb)
    .WaitFor(chatdb);

// The model, when ConnectionStrings:openai is set in the AppHost's configuration (user secrets, environment).
var openai = builder.AddConnectionString("openai");

builder.AddProject<Projects.ChatBackend_ApiService>("apiservice")
    .WithReference(chatdb)
    .WithReference(openai)
    .WaitForCompletion(migrator)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

builder.Build().Run();
