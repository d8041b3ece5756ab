using ChatBackend.DbMigrator;

var builder = Host.CreateApplicationBuilder(args);

builder.AddServiceDefaults();
builder.AddMySqlDataSource("chatdb");

builder.Services.AddOptions<MigratorOptions>()
    .BindConfiguration(MigratorOptions.SectionName)
    .ValidateDataAnnotations()
    .ValidateOnStart();
builder.Services.AddSingleton<DatabaseMigrator>();
builder.Services.AddHostedService<MigrationWorker>();

builder.Build().Run();
