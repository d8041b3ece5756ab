using System.Buffers;
using System.Text.Json;
using ChatBackend.AppHost.Dashboard.Otlp;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Aspire.Hosting.Dashboard;

/// <summary>Turns OTLP export requests into the store's rows.</summary>
internal static class OtlpConverter
{
    public static PendingTelemetry Pending(ExportTraceServiceRequest request) => new(TelemetryKind.Spans,
        request.ResourceSpans.Sum(resource => resource.ScopeSpans.Sum(scope => scope.Spans.Count)), () => TelemetryBatch.Of(Spans(request)));

    public static PendingTelemetry Pending(ExportLogsServiceRequest request) => new(TelemetryKind.Logs,
        request.ResourceLogs.Sum(resource => resource.ScopeLogs.Sum(scope => scope.LogRecords.Count)), () => TelemetryBatch.Of(Logs(request)));

    public static PendingTelemetry Pending(ExportMetricsServiceRequest request) => new(TelemetryKind.Points,
        request.ResourceMetrics.Sum(resource => resource.ScopeMetrics.Sum(scope => scope.Metrics.Sum(PointCount))), () => TelemetryBatch.Of(Points(request)));

    public static List<SpanRow> Spans(ExportTraceServiceRequest request)
    {
        var rows = new List<SpanRow>();
        foreach (var resourceSpans in request.ResourceSpans)
        {
            var resource = ServiceName(resourceSpans.Resource);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                var scope = scopeSpans.Scope?.Name ?? "";
                foreach (var span in scopeSpans.Spans)
                {
                    rows.Add(new SpanRow(
                        Hex(span.TraceId), Hex(span.SpanId), span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId), resource, scope,
                        span.Name, (int)span.Kind, (long)span.StartTimeUnixNano, (long)span.EndTimeUnixNano,
                        (int)(span.Status?.Code ?? Status.Types.StatusCode.Unset),
                        span.Status is { Message.Length: > 0 } status ? status.Message : null,
                        Json(span.Attributes), Events(span.Events)));
                }
            }
        }
        return rows;
    }

    public static List<LogRow> Logs(ExportLogsServiceRequest request)
    {
        var rows = new List<LogRow>();
        foreach (var resourceLogs in request.ResourceLogs)
        {
            var resource = ServiceName(resourceLogs.Resource);
            foreach (var scopeLogs in resourceLogs.ScopeLogs)
            {
                var category = scopeLogs.Scope?.Name ?? "";
                foreach (var log in scopeLogs.LogRecords)
                {
                    var time = log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano;
                    rows.Add(new LogRow(
                        (long)time, resource, log.SeverityNumber, category, log.Body is null ? log.EventName : Text(log.Body),
                        log.TraceId.IsEmpty ? null : Hex(log.TraceId), log.SpanId.IsEmpty ? null : Hex(log.SpanId), Json(log.Attributes)));
                }
            }
        }
        return rows;
    }

    public static List<MetricPointRow> Points(ExportMetricsServiceRequest request)
    {
        var rows = new List<MetricPointRow>();
        foreach (var resourceMetrics in request.ResourceMetrics)
        {
            var resource = ServiceName(resourceMetrics.Resource);
            foreach (var scopeMetrics in resourceMetrics.ScopeMetrics)
            {
                var meter = scopeMetrics.Scope?.Name ?? "";
                foreach (var metric in scopeMetrics.Metrics)
                {
                    switch (metric.DataCase)
                    {
                        case Metric.DataOneofCase.Gauge:
                            AddNumbers(rows, resource, meter, metric, "gauge", metric.Gauge.DataPoints);
                            break;
                        case Metric.DataOneofCase.Sum:
                            AddNumbers(rows, resource, meter, metric, metric.Sum.IsMonotonic ? "counter" : "updowncounter", metric.Sum.DataPoints);
                            break;
                        case Metric.DataOneofCase.Histogram:
                            foreach (var point in metric.Histogram.DataPoints)
                            {
                                rows.Add(new MetricPointRow(resource, meter, metric.Name, metric.Unit, metric.Description, "histogram",
                                    (long)point.TimeUnixNano, point.Count, Percentile(point, 0.5), Percentile(point, 0.9), Percentile(point, 0.99),
                                    Json(point.Attributes)));
                            }
                            break;
                    }
                }
            }
        }
        return rows;
    }

    private static int PointCount(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints.Count,
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Count,
        _ => 0,
    };

    /// <summary>
    /// The value under which a fraction of a histogram's measurements fall, interpolated inside its bucket (as
    /// Prometheus' histogram_quantile does); null when it has no measurements or no buckets.
    /// </summary>
    public static double? Percentile(HistogramDataPoint point, double quantile)
    {
        if (point.Count == 0 || point.BucketCounts.Count == 0)
        {
            return null;
        }
        var rank = quantile * point.Count;
        ulong seen = 0;
        for (var i = 0; i < point.BucketCounts.Count; i++)
        {
            var inBucket = point.BucketCounts[i];
            if (inBucket > 0 && seen + inBucket >= rank)
            {
                var lower = i == 0 ? (point.HasMin ? point.Min : Math.Min(0, point.ExplicitBounds.FirstOrDefault())) : point.ExplicitBounds[i - 1];
                var upper = i < point.ExplicitBounds.Count ? point.ExplicitBounds[i] : point.HasMax ? point.Max : lower;
                return lower + ((upper - lower) * ((rank - seen) / inBucket));
            }
            seen += inBucket;
        }
        return point.HasMax ? point.Max : point.ExplicitBounds.LastOrDefault();
    }

    private static void AddNumbers(
        List<MetricPointRow> rows, string resource, string meter, Metric metric, string kind, RepeatedField<NumberDataPoint> points)
    {
        foreach (var point in points)
        {
            var value = point.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? point.AsInt : point.AsDouble;
            rows.Add(new MetricPointRow(resource, meter, metric.Name, metric.Unit, metric.Description, kind, (long)point.TimeUnixNano, value,
                null, null, null, Json(point.Attributes)));
        }
    }

    // The resource is named by service.name, which the AppHost sets to the resource's name (OTEL_SERVICE_NAME).
    private static string ServiceName(ChatBackend.AppHost.Dashboard.Otlp.Resource? resource) =>
        resource?.Attributes.FirstOrDefault(attribute => attribute.Key == "service.name")?.Value is { } name ? Text(name) : "unknown";

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static string Text(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(Text)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => $"{kv.Key}: {(kv.Value is null ? "" : Text(kv.Value))}")) + "}",
        _ => "",
    };

    private static string Json(RepeatedField<KeyValue> attributes)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteObject(json, attributes);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Events(RepeatedField<Span.Types.Event> events)
    {
        if (events.Count == 0)
        {
            return "[]";
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var spanEvent in events)
            {
                json.WriteStartObject();
                json.WriteString("name", spanEvent.Name);
                json.WriteNumber("time", (long)spanEvent.TimeUnixNano);
                json.WritePropertyName("attributes");
                WriteObject(json, spanEvent.Attributes);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteObject(Utf8JsonWriter json, RepeatedField<KeyValue> attributes)
    {
        json.WriteStartObject();
        foreach (var attribute in attributes)
        {
            json.WritePropertyName(attribute.Key);
            if (attribute.Value is null)
            {
                json.WriteNullValue();
                continue;
            }
            switch (attribute.Value.ValueCase)
            {
                case AnyValue.ValueOneofCase.BoolValue:
                    json.WriteBooleanValue(attribute.Value.BoolValue);
                    break;
                case AnyValue.ValueOneofCase.IntValue:
                    json.WriteNumberValue(attribute.Value.IntValue);
                    break;
                case AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(attribute.Value.DoubleValue):
                    json.WriteNumberValue(attribute.Value.DoubleValue);
                    break;
                default:
                    json.WriteStringValue(Text(attribute.Value));
                    break;
            }
        }
        json.WriteEndObject();
    }
}
