import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { close } from '../../src/shared/listen.js';

/**
 * An OTLP/HTTP receiver for tests (`/v1/metrics`, `/v1/logs`, protobuf or JSON, gzip or
 * not). It decodes with protobufjs on its own schema (`otlp/otlp.proto`, written from
 * the protocol's field numbers), independently of the OpenTelemetry serializers the
 * daemon encodes with, and answers with a script of statuses, `Retry-After` and partial
 * successes.
 */

const root = protobuf.loadSync(fileURLToPath(new URL('./otlp/otlp.proto', import.meta.url)));
const T = {
  metricsRequest: root.lookupType('otlp.ExportMetricsServiceRequest'),
  metricsResponse: root.lookupType('otlp.ExportMetricsServiceResponse'),
  logsRequest: root.lookupType('otlp.ExportLogsServiceRequest'),
  logsResponse: root.lookupType('otlp.ExportLogsServiceResponse'),
};

/** An attribute value as JavaScript: strings, booleans, int64 as bigint, doubles, lists, maps. */
export type Value = string | boolean | bigint | number | Value[] | { [k: string]: Value } | undefined;

interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
  value?: string;
}
interface PbKeyValue {
  key: string;
  value?: PbAnyValue;
}

function anyValue(v: PbAnyValue | undefined): Value {
  if (v === undefined) return undefined;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return BigInt(v.intValue!);
    case 'doubleValue':
      return v.doubleValue;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(anyValue);
    case 'kvlistValue':
      return attributes(v.kvlistValue?.values);
    default:
      return undefined;
  }
}

/** Key-values as an object (a repeated key would be a receiver-visible defect: it throws). */
export function attributes(kvs: PbKeyValue[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of kvs ?? []) {
    if (Object.hasOwn(out, kv.key)) throw new Error(`attribute "${kv.key}" repeated`);
    out[kv.key] = anyValue(kv.value);
  }
  return out;
}

/** One data point as the receiver saw it, with its metric and resource. */
export interface Point {
  resource: Record<string, Value>;
  scope: string;
  name: string;
  unit: string;
  kind: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram';
  /** 1 delta, 2 cumulative; undefined for gauges. */
  temporality?: number;
  monotonic?: boolean;
  attributes: Record<string, Value>;
  startNanos: bigint;
  timeNanos: bigint;
  /** Numbers: the value, and whether it was written as an int. */
  value?: number;
  isInt?: boolean;
  /** Histograms. */
  count?: bigint;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: bigint[];
  explicitBounds?: number[];
  scale?: number;
  zeroCount?: bigint;
  positive?: { offset: number; bucketCounts: bigint[] };
  negative?: { offset: number; bucketCounts: bigint[] };
}

/** One log record as the receiver saw it. */
export interface LogPoint {
  resource: Record<string, Value>;
  timeNanos: bigint;
  observedNanos: bigint;
  severityNumber: number;
  severityText: string;
  body: Value;
  attributes: Record<string, Value>;
}

/** A request as received. */
export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Bytes on the wire (compressed when it was). */
  wireBytes: number;
  points: Point[];
  logs: LogPoint[];
}

/** How the receiver answers one request. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** A partial success: how many of the request's items it refuses, and why. */
  partial?: { rejected: number; message: string };
  /** A raw body instead of an OTLP response. */
  body?: string;
  /** Only for requests to this path (`/v1/metrics`); others get the default answer meanwhile. */
  path?: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- decoded messages are walked as plain objects */
const big = (s: unknown): bigint => BigInt(typeof s === 'string' || typeof s === 'number' ? s : 0);

function flattenMetrics(msg: any): Point[] {
  const out: Point[] = [];
  for (const rm of msg.resourceMetrics ?? []) {
    const resource = attributes(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const kind = m.data as Point['kind'];
        const body = m[kind];
        for (const dp of body.dataPoints ?? []) {
          const p: Point = {
            resource,
            scope: sm.scope?.name ?? '',
            name: m.name,
            unit: m.unit ?? '',
            kind,
            attributes: attributes(dp.attributes),
            startNanos: big(dp.startTimeUnixNano),
            timeNanos: big(dp.timeUnixNano),
          };
          if (kind !== 'gauge') p.temporality = body.aggregationTemporality ?? 0;
          if (kind === 'sum') p.monotonic = body.isMonotonic === true;
          if (kind === 'gauge' || kind === 'sum') {
            p.isInt = dp.value === 'asInt';
            p.value = p.isInt ? Number(dp.asInt) : dp.asDouble;
          } else {
            p.count = big(dp.count);
            if (dp.sum !== undefined) p.sum = dp.sum;
            if (dp.min !== undefined) p.min = dp.min;
            if (dp.max !== undefined) p.max = dp.max;
            if (kind === 'histogram') {
              p.bucketCounts = (dp.bucketCounts ?? []).map(big);
              p.explicitBounds = dp.explicitBounds ?? [];
            } else {
              p.scale = dp.scale ?? 0;
              p.zeroCount = big(dp.zeroCount);
              p.positive = {
                offset: dp.positive?.offset ?? 0,
                bucketCounts: (dp.positive?.bucketCounts ?? []).map(big),
              };
              p.negative = {
                offset: dp.negative?.offset ?? 0,
                bucketCounts: (dp.negative?.bucketCounts ?? []).map(big),
              };
            }
          }
          out.push(p);
        }
      }
    }
  }
  return out;
}

function flattenLogs(msg: any): LogPoint[] {
  const out: LogPoint[] = [];
  for (const rl of msg.resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? [])
      for (const r of sl.logRecords ?? [])
        out.push({
          resource: attributes(rl.resource?.attributes),
          timeNanos: big(r.timeUnixNano),
          observedNanos: big(r.observedTimeUnixNano),
          severityNumber: r.severityNumber ?? 0,
          severityText: r.severityText ?? '',
          body: anyValue(r.body),
          attributes: attributes(r.attributes),
        });
  return out;
}
/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */

const TO_OBJECT = { longs: String, enums: Number, oneofs: true, defaults: false } as const;

/** Decodes one request body (gunzipped) of `path` in `contentType`. */
export function decodeOtlp(path: string, contentType: string, body: Buffer): { points: Point[]; logs: LogPoint[] } {
  const logs = path.endsWith('/v1/logs');
  const type = logs ? T.logsRequest : T.metricsRequest;
  const msg = contentType.startsWith('application/json')
    ? type.fromObject(JSON.parse(body.toString('utf8')) as Record<string, unknown>)
    : type.decode(body);
  const obj = type.toObject(msg, TO_OBJECT);
  return logs ? { points: [], logs: flattenLogs(obj) } : { points: flattenMetrics(obj), logs: [] };
}

/** A running receiver; `answers` is consumed one per request, and the default answers the rest. */
export class OtlpReceiver extends EventEmitter {
  readonly received: Received[] = [];
  /** Bodies it could not decode (a test expects none). */
  readonly undecodable: string[] = [];
  readonly answers: Answer[] = [];
  defaultAnswer: Answer = { status: 200 };
  #server: http.Server;
  url = '';

  private constructor() {
    super();
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#handle(req, res, Buffer.concat(chunks)));
    });
  }

  static async start(): Promise<OtlpReceiver> {
    const r = new OtlpReceiver();
    await new Promise<void>((ok) => r.#server.listen(0, '127.0.0.1', ok));
    r.url = `http://127.0.0.1:${(r.#server.address() as { port: number }).port}`;
    return r;
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse, wire: Buffer): void {
    const path = req.url ?? '';
    const type = String(req.headers['content-type'] ?? '');
    const json = type.startsWith('application/json');
    const next = this.answers[0];
    const a =
      next !== undefined && (next.path === undefined || next.path === path)
        ? this.answers.shift()!
        : this.defaultAnswer;
    if (a.status >= 200 && a.status < 300) {
      try {
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire;
        this.received.push({ path, headers: req.headers, wireBytes: wire.length, ...decodeOtlp(path, type, body) });
      } catch (err) {
        this.undecodable.push(`${path}: ${String(err)}`);
      }
    }
    const logs = path.endsWith('/v1/logs');
    const respType = logs ? T.logsResponse : T.metricsResponse;
    let body: Buffer | string = a.body ?? '';
    if (a.body === undefined && a.status >= 200 && a.status < 300) {
      const partial =
        a.partial === undefined
          ? {}
          : {
              partialSuccess: {
                [logs ? 'rejectedLogRecords' : 'rejectedDataPoints']: a.partial.rejected,
                errorMessage: a.partial.message,
              },
            };
      const msg = respType.fromObject(partial);
      body = json
        ? JSON.stringify(respType.toObject(msg, { longs: String }))
        : Buffer.from(respType.encode(msg).finish());
    }
    res.writeHead(a.status, { 'content-type': json ? 'application/json' : 'application/x-protobuf', ...a.headers });
    res.end(body);
    this.emit('request');
  }

  /** Resolves once `n` requests were decoded (bounded by `ms`). */
  async until(n: number, ms = 10_000): Promise<void> {
    const signal = AbortSignal.timeout(ms);
    while (this.received.length < n) await once(this, 'request', { signal });
  }

  /** Every data point received so far, in order. */
  get points(): Point[] {
    return this.received.flatMap((r) => r.points);
  }

  get logs(): LogPoint[] {
    return this.received.flatMap((r) => r.logs);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return close(this.#server);
  }
}
