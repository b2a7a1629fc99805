// A real OTLP/HTTP receiver for tests: a node http server taking
// POST /v1/traces and /v1/metrics in the OTLP JSON encoding, decoded by the
// layout of the OpenTelemetry protos (opentelemetry/proto/{trace,metrics,common}/v1):
// ExportTraceServiceRequest.resourceSpans[].scopeSpans[].spans[],
// ExportMetricsServiceRequest.resourceMetrics[].scopeMetrics[].metrics[].
import http from "node:http";
import { gunzipSync } from "node:zlib";
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";

/** opentelemetry.proto.common.v1.AnyValue (JSON mapping: one of the fields set; int64 may be a string). */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
}
/** opentelemetry.proto.common.v1.KeyValue */
export interface KeyValue {
  key: string;
  value: AnyValue;
}
/** opentelemetry.proto.trace.v1.Span (the fields the tests read). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  /** Span.SpanKind: 2 SERVER, 3 CLIENT. */
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes: KeyValue[];
  /** Status.StatusCode: 0 UNSET, 1 OK, 2 ERROR. */
  status?: { code?: number; message?: string };
}
interface ExportTraceServiceRequest {
  resourceSpans: Array<{ resource?: { attributes: KeyValue[] }; scopeSpans: Array<{ scope?: { name: string }; spans: OtlpSpan[] }> }>;
}
/** opentelemetry.proto.metrics.v1.HistogramDataPoint */
export interface HistogramPoint {
  attributes: KeyValue[];
  count: number | string;
  sum?: number;
  bucketCounts: Array<number | string>;
  explicitBounds: number[];
}
/** opentelemetry.proto.metrics.v1.Metric (histograms only here). */
export interface OtlpMetric {
  name: string;
  unit?: string;
  description?: string;
  histogram?: { dataPoints: HistogramPoint[]; aggregationTemporality?: number };
}
interface ExportMetricsServiceRequest {
  resourceMetrics: Array<{ resource?: { attributes: KeyValue[] }; scopeMetrics: Array<{ scope?: { name: string }; metrics: OtlpMetric[] }> }>;
}

export const SPAN_KIND = { SERVER: 2, CLIENT: 3 } as const;
export const STATUS = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/** The plain value of an AnyValue. */
export function valueOf(v: AnyValue | undefined): unknown {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return v.arrayValue.values.map(valueOf);
  return undefined;
}

/** A KeyValue list as a plain record. */
export function attrs(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = valueOf(kv.value);
  return out;
}

export interface OtlpReceiver {
  url: string;
  spans: OtlpSpan[];
  metrics: OtlpMetric[];
  /** Resource attributes of every export seen. */
  resources: Array<Record<string, unknown>>;
  /** Content types the exporter used. */
  contentTypes: Set<string>;
  /** Emits "spans" and "metrics" after each decoded export. */
  events: EventEmitter;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const r: Omit<OtlpReceiver, "url" | "close"> = { spans: [], metrics: [], resources: [], contentTypes: new Set(), events: new EventEmitter() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const type = String(req.headers["content-type"] ?? "");
      r.contentTypes.add(type);
      if (!type.startsWith("application/json")) {
        res.writeHead(415).end();
        return;
      }
      const payload = JSON.parse(body.toString("utf8"));
      if (req.url === "/v1/traces") {
        for (const rs of (payload as ExportTraceServiceRequest).resourceSpans ?? []) {
          r.resources.push(attrs(rs.resource?.attributes));
          for (const ss of rs.scopeSpans ?? []) r.spans.push(...(ss.spans ?? []));
        }
        r.events.emit("spans");
      } else if (req.url === "/v1/metrics") {
        for (const rm of (payload as ExportMetricsServiceRequest).resourceMetrics ?? []) {
          r.resources.push(attrs(rm.resource?.attributes));
          for (const sm of rm.scopeMetrics ?? []) r.metrics.push(...(sm.metrics ?? []));
        }
        r.events.emit("metrics");
      } else {
        res.writeHead(404).end();
        return;
      }
      // ExportTraceServiceResponse / ExportMetricsServiceResponse: an empty message is full success.
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...r,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
