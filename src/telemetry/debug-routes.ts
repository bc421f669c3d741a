import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricStats } from '../ingest/metric-stats.js';
import type { Clock } from '../shared/clock.js';
import { parseDurationMs } from '../shared/duration.js';
import type { RouteRegistry } from '../shared/http-routes.js';
import type { DebugEndpoints } from '../shared/debug-endpoints.js';
import { TAP_KINDS, type TapHub, type TapKind } from './tap.js';

/** Bounds of one tap: it ends after `count` records or `duration`, whichever comes first. */
export const TAP_LIMITS = {
  defaultCount: 1000,
  maxCount: 1_000_000,
  defaultDurationMs: 10_000,
  maxDurationMs: 600_000,
  /** A blank line this often keeps a quiet tap's connection alive (the server closes silent ones). */
  keepAliveMs: 5_000,
} as const;

/** What the debug routes read. */
export interface DebugRoutesDeps {
  routes: RouteRegistry;
  clock: Clock;
  tap: TapHub;
  metricStats: MetricStats;
  /** Live series and the cap, for `/debug/metrics`. */
  series: () => { live: number; max: number; dropped: number };
  /** `debug-endpoints` in force (read at every request: it reloads live). */
  endpoints: () => DebugEndpoints;
}

function badRequest(res: ServerResponse, message: string): void {
  res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(message + '\n');
}

function refused(res: ServerResponse, message: string): void {
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(message + '\n');
}

/**
 * Serves `/debug/metrics` (per-metric statistics as JSON: the names with the most samples,
 * the most new series and their tag keys, the most samples refused at `max-series`) and
 * `/debug/tap` (a live NDJSON stream, chunked, of received, rejected and unmatched lines or
 * raw datagrams, bounded in count and time). Returns the remover.
 */
export function registerDebugRoutes(d: DebugRoutesDeps): () => void {
  const removers = [
    d.routes.register({
      owner: 'daemon',
      path: '/debug/metrics',
      methods: ['GET'],
      handler: (req, res) => {
        if (d.endpoints() === 'off') return refused(res, 'debug endpoints are off (debug-endpoints = "off")');
        const q = new URL(req.url ?? '/', 'http://localhost').searchParams;
        const limit = Number(q.get('limit') ?? '10');
        if (!Number.isInteger(limit) || limit < 1 || limit > 200) return badRequest(res, 'limit: an integer 1-200');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...d.metricStats.report(d.clock.now(), limit), series: d.series() }) + '\n');
      },
    }),
    d.routes.register({
      owner: 'daemon',
      path: '/debug/tap',
      methods: ['GET'],
      handler: (req, res) => tap(req, res, d),
    }),
  ];
  return () => removers.forEach((r) => r());
}

function tap(req: IncomingMessage, res: ServerResponse, d: DebugRoutesDeps): void {
  if (d.endpoints() !== 'tap') return refused(res, 'the tap is off: set debug-endpoints = "tap" to allow it');
  const q = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const kinds = (q.get('kind') ?? 'received,rejected,unmatched').split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(TAP_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    return badRequest(res, `kind: unknown ${unknown.join(', ')} (one or more of ${TAP_KINDS.join(', ')})`);
  const count = Number(q.get('count') ?? TAP_LIMITS.defaultCount);
  if (!Number.isInteger(count) || count < 1 || count > TAP_LIMITS.maxCount)
    return badRequest(res, `count: an integer 1-${TAP_LIMITS.maxCount}`);
  const durationText = q.get('duration');
  const durationMs = durationText === null ? TAP_LIMITS.defaultDurationMs : parseDurationMs(durationText);
  if (durationMs === undefined || durationMs <= 0 || durationMs > TAP_LIMITS.maxDurationMs)
    return badRequest(res, `duration: a duration up to ${TAP_LIMITS.maxDurationMs / 60_000}m (e.g. 30s)`);
  const match = q.get('match') ?? undefined;

  const stops: Array<() => void> = [];
  const close = d.tap.subscribe(
    { kinds: kinds as TapKind[], count, ...(match !== undefined ? { match } : {}) },
    (r) => res.write(JSON.stringify(r) + '\n'),
    () => {
      stops.forEach((stop) => stop());
      res.end();
    },
  );
  if (Array.isArray(close)) {
    res.writeHead(409, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`a tap of ${close.join(', ')} is already open; one tap per kind at a time\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
  stops.push(
    d.clock.after(durationMs, close),
    d.clock.every(TAP_LIMITS.keepAliveMs, () => res.write('\n')),
  );
  res.on('close', close);
}
