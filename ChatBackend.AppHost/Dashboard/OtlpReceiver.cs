using ChatBackend.AppHost.Dashboard.Otlp;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Aspire.Hosting.Dashboard;

/// <summary>
/// OTLP in: the three gRPC export services, and the same three over HTTP with protobuf bodies (<c>/v1/traces</c>,
/// <c>/v1/logs</c>, <c>/v1/metrics</c>). Each call is parsed and queued; none waits for the store. The API key is
/// checked before (see DashboardServer).
/// </summary>
internal static class OtlpReceiver
{
    public static void MapOtlpGrpc(this IEndpointRouteBuilder app, int port)
    {
        app.MapGrpcService<TraceReceiver>().RequireHost($"*:{port}");
        app.MapGrpcService<LogsReceiver>().RequireHost($"*:{port}");
        app.MapGrpcService<MetricsReceiver>().RequireHost($"*:{port}");
    }

    public static void MapOtlpHttp(this IEndpointRouteBuilder app, int port)
    {
        var otlp = app.MapGroup("/v1").RequireHost($"*:{port}");
        otlp.MapPost("/traces", (HttpRequest request, TelemetryIngest ingest, CancellationToken cancellationToken) =>
            ReceiveAsync(request, ExportTraceServiceRequest.Parser, message => ingest.Add(OtlpConverter.Pending(message)),
                new ExportTraceServiceResponse(), cancellationToken));
        otlp.MapPost("/logs", (HttpRequest request, TelemetryIngest ingest, CancellationToken cancellationToken) =>
            ReceiveAsync(request, ExportLogsServiceRequest.Parser, message => ingest.Add(OtlpConverter.Pending(message)),
                new ExportLogsServiceResponse(), cancellationToken));
        otlp.MapPost("/metrics", (HttpRequest request, TelemetryIngest ingest, CancellationToken cancellationToken) =>
            ReceiveAsync(request, ExportMetricsServiceRequest.Parser, message => ingest.Add(OtlpConverter.Pending(message)),
                new ExportMetricsServiceResponse(), cancellationToken));
    }

    private static async Task<IResult> ReceiveAsync<T>(
        HttpRequest request, MessageParser<T> parser, Action<T> add, IMessage response, CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        if (request.ContentType?.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) != true)
        {
            return TypedResults.Problem("OTLP over HTTP is accepted as application/x-protobuf.", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        T message;
        try
        {
            message = parser.ParseFrom(body.GetBuffer().AsSpan(0, (int)body.Length));
        }
        catch (InvalidProtocolBufferException)
        {
            return TypedResults.Problem("The body is not an OTLP export request.", statusCode: StatusCodes.Status400BadRequest);
        }
        add(message);
        return TypedResults.Bytes(response.ToByteArray(), "application/x-protobuf");
    }
}

internal sealed class TraceReceiver(TelemetryIngest ingest) : TraceService.TraceServiceBase
{
    public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
    {
        ingest.Add(OtlpConverter.Pending(request));
        return Task.FromResult(new ExportTraceServiceResponse());
    }
}

internal sealed class LogsReceiver(TelemetryIngest ingest) : LogsService.LogsServiceBase
{
    public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
    {
        ingest.Add(OtlpConverter.Pending(request));
        return Task.FromResult(new ExportLogsServiceResponse());
    }
}

internal sealed class MetricsReceiver(TelemetryIngest ingest) : MetricsService.MetricsServiceBase
{
    public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
    {
        ingest.Add(OtlpConverter.Pending(request));
        return Task.FromResult(new ExportMetricsServiceResponse());
    }
}
