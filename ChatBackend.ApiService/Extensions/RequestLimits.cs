using ChatBackend.ApiService.Chat;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ChatBackend.ApiService.Extensions;

/// <summary>
/// Kestrel's limits on the request target (8 KiB) and headers (32 KiB), answered as problem details: Kestrel itself
/// refuses with a bare 414 or 431 before any middleware runs, so its own limits are set to twice these
/// (ApplicationServiceExtensions) and these are checked first thing here.
/// </summary>
public static class RequestLimits
{
    public static WebApplication UseRequestLimits(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ChatTurnOptions>>().Value;
        app.Use((context, next) =>
        {
            var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget.Length ?? 0;
            if (target > options.MaxRequestTargetBytes)
            {
                return RefuseAsync(context, StatusCodes.Status414UriTooLong, "The request target is too long",
                    $"The path and query string take {target} bytes; this server accepts {options.MaxRequestTargetBytes} (Chat:MaxRequestTargetBytes). Send the fields in a body.");
            }
            var headers = HeaderBytes(context.Request.Headers);
            if (headers > options.MaxRequestHeadersBytes)
            {
                return RefuseAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, "The request headers are too large",
                    $"The headers take {headers} bytes; this server accepts {options.MaxRequestHeadersBytes} (Chat:MaxRequestHeadersBytes).");
            }
            return next(context);
        });
        return app;
    }

    // Names and values as they travel in HTTP/1.1 ("name: value\r\n"); close enough for a limit under HTTP/2 and 3.
    private static long HeaderBytes(IHeaderDictionary headers)
    {
        long total = 0;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                total += name.Length + (value?.Length ?? 0) + 4;
            }
        }
        return total;
    }

    private static Task RefuseAsync(HttpContext context, int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
}
