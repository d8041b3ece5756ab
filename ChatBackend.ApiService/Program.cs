using ChatBackend.ApiService.Apis;
using ChatBackend.ApiService.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseCors();

app.MapOpenApi();
if (app.Environment.IsDevelopment())
{
    app.UseSwaggerUI(options => options.SwaggerEndpoint("/openapi/v1.json", "ChatBackend API"));
}

app.MapDefaultEndpoints();
app.MapStatusApi();
app.MapChatApi();
app.MapConversationsApi();

app.Run();
