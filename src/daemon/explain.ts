import type { Backend, Explanation } from '../backends/backend.js';
import { seriesOf, type FlushSnapshot, type SeriesIdentity } from '../aggregator/snapshot.js';
import type { DaemonConfig } from '../config/config.js';
import { IngestStats } from '../ingest/ingest-stats.js';
import { createPipeline } from '../ingest/pipeline.js';
import type { MetricKind, ParseErrorReason } from '../parser/sample.js';
import type { Clock } from '../shared/clock.js';
import { noopBackendMetrics } from '../backends/backend.js';
import { silentLogger } from '../shared/logger.js';
import { backendFactory, COMPONENTS, type Components } from './components.js';
import { pipelineConfigOf, sharedSettings } from './daemon.js';

/** What the parser made of a line. */
export type ParseVerdict =
  | { readonly result: 'metric'; readonly kind: MetricKind; readonly values: number; readonly rate: number }
  | { readonly result: 'event'; readonly title: string }
  | { readonly result: 'service_check'; readonly name: string; readonly status: number }
  | {
      readonly result: 'rejected';
      readonly reason: ParseErrorReason;
      /** Byte offset in the line where it goes wrong. */
      readonly at: number;
    };

/** One backend instance's answer for a line. */
export interface BackendVerdict {
  readonly backend: string;
  /** Absent when the backend type cannot explain itself. */
  readonly explanation?: Explanation;
}

/** What the daemon does with one line. */
export interface LineExplanation {
  readonly line: string;
  readonly parse: ParseVerdict;
  /** The series the line feeds, after namespace, default tags, filters and host rules. */
  readonly series?: SeriesIdentity & { readonly kind: MetricKind };
  /** Why an accepted metric feeds no series (`filtered`, `max_series`). */
  readonly dropped?: { readonly reason: string; readonly detail: string };
  /** Per configured backend instance, in config order; empty when no series was fed. */
  readonly backends: readonly BackendVerdict[];
}

/** Options of {@link explainLines}. */
export interface ExplainOptions {
  clock: Clock;
  /** The sender address lines appear to come from (the UDP receiver's source host). */
  sourceHost?: string;
  components?: Components;
}

/**
 * Runs each line through the daemon's own receive path (parser, tag and host rules,
 * aggregator, one flush of its interval) and asks every configured backend instance what
 * it would send (Backend.explain). Lines are explained in order: each gets a fresh
 * aggregator, while the backend instances are shared, so a line sees the state earlier
 * lines left (a Prometheus family of another type, the series cap). Nothing is sent.
 */
export async function explainLines(
  config: DaemonConfig,
  lines: readonly string[],
  opts: ExplainOptions,
): Promise<LineExplanation[]> {
  const components = opts.components ?? COMPONENTS;
  const host = opts.sourceHost ?? '127.0.0.1';
  const backends = config.backends.map((name): Backend => {
    return backendFactory(components, name).create(config.backendConfigs[name], sharedSettings(config), {
      name,
      logger: silentLogger,
      clock: opts.clock,
      metrics: noopBackendMetrics,
    });
  });
  try {
    return lines.map((line) => explainLine(config, line, host, backends, opts.clock));
  } finally {
    await Promise.all(backends.map((b) => b.shutdown(opts.clock.timeout(1000)).catch(() => undefined)));
  }
}

function explainLine(
  config: DaemonConfig,
  line: string,
  host: string,
  backends: readonly Backend[],
  clock: Clock,
): LineExplanation {
  const stats = new IngestStats();
  const { parser, ingester, aggregator } = createPipeline(
    { ...pipelineConfigOf(config), badLinesPerMinute: 0, lineCache: false },
    { stats, clock, logger: silentLogger, onEvent: () => undefined, onServiceCheck: () => undefined },
  );
  const bytes = Buffer.from(line);
  const r = parser(bytes, 0, bytes.length);
  const parse: ParseVerdict =
    r.type === 'metric'
      ? { result: 'metric', kind: r.metric.kind, values: 1 + r.metric.extraValues.length, rate: r.metric.rate }
      : r.type === 'event'
        ? { result: 'event', title: r.event.title }
        : r.type === 'check'
          ? { result: 'service_check', name: r.check.name, status: r.check.status }
          : { result: 'rejected', reason: r.reason, at: r.at };
  if (r.type !== 'metric') return { line, parse, backends: [] };
  ingester.ingestLine(bytes, 0, bytes.length, host);
  const snapshot = aggregator.snapshotAndReset(clock.now(), config.flushIntervalMs / 1000);
  const series = firstSeries(snapshot);
  if (series === undefined) {
    const dropped =
      stats.filtered > 0
        ? { reason: 'filtered', detail: 'a [filter.*] section drops it (or the name is empty after the rules)' }
        : { reason: 'max_series', detail: `past max-series (${config.maxSeries})` };
    return { line, parse, dropped, backends: [] };
  }
  return {
    line,
    parse,
    series,
    backends: backends.map((b, i) => {
      const explanation = b.explain?.(snapshot);
      const backend = config.backends[i]!;
      return explanation === undefined ? { backend } : { backend, explanation };
    }),
  };
}

function firstSeries(s: FlushSnapshot): (SeriesIdentity & { kind: MetricKind }) | undefined {
  if (seriesOf(s) === 0) return undefined;
  const [kind, p] =
    s.counters.length > 0
      ? (['counter', s.counters[0]!] as const)
      : s.gauges.length > 0
        ? (['gauge', s.gauges[0]!] as const)
        : s.timers.length > 0
          ? (['timer', s.timers[0]!] as const)
          : (['set', s.sets[0]!] as const);
  return { kind, name: p.name, tags: [...p.tags], host: p.host, tagsKey: p.tagsKey };
}
