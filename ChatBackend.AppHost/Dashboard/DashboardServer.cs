using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting.Dashboard;

/// <summary>
/// The dashboard: a web app inside the AppHost with the UI on the AppHost's URL and the OTLP receiver on its own two,
/// started before the resources so that their first telemetry lands. It prints the login link as Aspire does.
/// </summary>
internal sealed class DashboardServer(
    DashboardOptions options,
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    ResourceLoggerService logs,
    Orchestrator orchestrator) : IHostedService, IAsyncDisposable
{
    public const string CookieName = ".ChatBackend.Dashboard";

    private static readonly string[] Pages =
        ["/", "/consolelogs", "/consolelogs/resource/{name}", "/structuredlogs", "/traces", "/traces/detail/{traceId}", "/metrics"];

    private WebApplication? _app;

    /// <summary>The UI's login link, once it listens.</summary>
    public Uri? LoginUrl { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Enabled)
        {
            return;
        }
        // The AppHost's ASPNETCORE_URLS is the UI's endpoint, given to Kestrel below with the OTLP ones; left in the
        // environment, Kestrel would warn that it overrides it. The resources never inherit it (ASPIRE.md §1.5).
        Environment.SetEnvironmentVariable("ASPNETCORE_URLS", null);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "dashboard"),
            EnvironmentName = Environments.Production,
        });
        // Warnings and errors only, as the AppHost's own; the ephemeral keys' "not encrypted at rest" warning is moot.
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // gRPC without TLS needs HTTP/2 alone (h2c); the others are HTTP/1.1, as HTTP/2 without TLS cannot be negotiated.
            Listen(kestrel, options.FrontendUrl, HttpProtocols.Http1);
            Listen(kestrel, options.OtlpGrpcUrl, HttpProtocols.Http2);
            Listen(kestrel, options.OtlpHttpUrl, HttpProtocols.Http1);
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(model);
        builder.Services.AddSingleton(notifications);
        builder.Services.AddSingleton(orchestrator);
        builder.Services.AddSingleton<ResourceTimes>();
        builder.Services.AddSingleton<TelemetryStore>();
        builder.Services.AddSingleton<TelemetryQueries>();
        builder.Services.AddSingleton<TelemetryIngest>();
        builder.Services.AddHostedService(services => services.GetRequiredService<TelemetryIngest>());
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 64 * 1024 * 1024);
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.HttpOnly = true;
            cookie.ExpireTimeSpan = TimeSpan.FromDays(3);
            cookie.SlidingExpiration = true;
            cookie.Events.OnRedirectToLogin = context => Unauthorized(context.HttpContext);
        });
        builder.Services.AddAuthorization();

        var app = builder.Build();
        // From the first state on, not from the first page view.
        app.Services.GetRequiredService<ResourceTimes>();
        await app.Services.GetRequiredService<TelemetryStore>().CreateAsync(cancellationToken);
        var ingest = app.Services.GetRequiredService<TelemetryIngest>();
        logs.LineWritten += (resource, line) => ingest.Add(new PendingTelemetry(TelemetryKind.Console, 1, () => TelemetryBatch.Of(
            new ConsoleRow(UnixTime.Nanoseconds(line.Timestamp), resource, line.IsError, line.Text))));

        app.Use(RequireOtlpApiKey);
        app.UseAuthentication();
        app.UseAuthorization();
        if (options.OtlpGrpcUrl is { } grpc)
        {
            app.MapOtlpGrpc(grpc.Port);
        }
        if (options.OtlpHttpUrl is { } http)
        {
            app.MapOtlpHttp(http.Port);
        }
        if (options.FrontendUrl is { } frontend)
        {
            MapFrontend(app, frontend.Port);
        }

        await app.StartAsync(cancellationToken);
        _app = app;
        if (options.FrontendUrl is { } url)
        {
            var root = url.GetLeftPart(UriPartial.Authority);
            LoginUrl = new Uri($"{root}/login?t={options.BrowserToken}");
            Console.WriteLine($"AppHost   | Now listening on: {root}");
            Console.WriteLine(options.AllowAnonymous
                ? $"AppHost   | The dashboard is at {root} (anonymous access is on)"
                : $"AppHost   | Login to the dashboard at {LoginUrl}");
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private void MapFrontend(WebApplication app, int port)
    {
        var frontend = app.MapGroup("").RequireHost($"*:{port}");
        frontend.MapGet("/login", LoginAsync).AllowAnonymous();
        var pages = options.AllowAnonymous ? frontend.MapGroup("") : frontend.MapGroup("").RequireAuthorization();
        var shell = new PhysicalFileProvider(app.Environment.WebRootPath);
        foreach (var page in Pages)
        {
            pages.MapGet(page, () => TypedResults.File(shell.GetFileInfo("index.html").CreateReadStream(), "text/html; charset=utf-8"));
        }
        pages.MapGet("/assets/{file}", (string file) => shell.GetFileInfo(Path.GetFileName(file)) is { Exists: true } asset
            ? Results.File(asset.CreateReadStream(), file.EndsWith(".css", StringComparison.Ordinal) ? "text/css" : "text/javascript")
            : Results.NotFound());
        pages.MapDashboardApi();
    }

    // /login?t=TOKEN sets the cookie and goes to the resources page; a wrong or missing token gets 401.
    private async Task<IResult> LoginAsync(HttpContext context, string? t)
    {
        if (t is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(t), Encoding.UTF8.GetBytes(options.BrowserToken)))
        {
            await Unauthorized(context);
            return Results.Empty;
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "dashboard")], CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
        return Results.Redirect("/");
    }

    private static Task Unauthorized(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(
            "401: open the dashboard with the login link the AppHost printed at start (Login to the dashboard at .../login?t=...).");
    }

    // OTLP calls carry the key the AppHost gave its resources; others are refused before they are read.
    private async Task RequireOtlpApiKey(HttpContext context, RequestDelegate next)
    {
        var port = context.Connection.LocalPort;
        if ((port == options.OtlpGrpcUrl?.Port || port == options.OtlpHttpUrl?.Port)
            && !CryptographicOperations.FixedTimeEquals(
                Encoding.UTF8.GetBytes(context.Request.Headers[DashboardOptions.ApiKeyHeader].ToString()), Encoding.UTF8.GetBytes(options.OtlpApiKey)))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        await next(context);
    }

    private static void Listen(KestrelServerOptions kestrel, Uri? url, HttpProtocols protocols)
    {
        if (url is null)
        {
            return;
        }
        void Configure(ListenOptions listen) => listen.Protocols = protocols;
        if (url.IsLoopback && url.Host == "localhost")
        {
            kestrel.ListenLocalhost(url.Port, Configure);
        }
        else if (System.Net.IPAddress.TryParse(url.Host, out var address))
        {
            kestrel.Listen(address, url.Port, Configure);
        }
        else
        {
            kestrel.ListenAnyIP(url.Port, Configure);
        }
    }
}
