using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestLimits();
app.UseCors();
app.UseUserAuthentication();

app.MapOpenApi();
if (app.Environment.IsDevelopment())
{
    app.UseSwaggerUI(options => options.SwaggerEndpoint("/openapi/v1.json", "ChatBackend API"));
}

app.MapDefaultEndpoints();
app.MapStatusApi();
var users = app.MapUserEndpoints();
users.MapChatApi();
users.MapConversationsApi();
users.MapUsageApi();
users.MapApiKeysApi();
users.MapResponsesApi();
users.MapConversationsV1Api();

app.Run();
