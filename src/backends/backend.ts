import type { EnvoyTagRules } from '../shared/envoy-tags.js';
import type { DisabledSubMetrics, FlushSnapshot } from '../aggregator/snapshot.js';
import type { ExpiryConfig } from '../aggregator/in-memory-aggregator.js';

export type { DisabledSubMetrics } from '../aggregator/snapshot.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { ServiceCheck, StatsdEvent } from '../parser/sample.js';
import type { Clock } from '../shared/clock.js';
import type { ConfigIssue } from '../shared/errors.js';
import type { RouteRegistry } from '../shared/http-routes.js';
import type { Logger } from '../shared/logger.js';

/**
 * A destination for flushed aggregates.
 *
 * Lifecycle: created by its BackendFactory, started once, flushed every interval, shut
 * down once. The flusher never runs two flushes of one backend at once.
 */
export interface Backend extends Lifecycle {
  /**
   * Instance name from config (`sepagent`, `sepagent.canary`, `stdout`, …), used in logs
   * and metric labels.
   */
  readonly name: string;
  /**
   * What the flusher does with intervals that arrive while this backend is still busy
   * and one is already waiting (default `latest`):
   * - `latest`: the waiting interval is skipped, the newest one waits instead (right for
   *   per-interval rates such as SepAgent's);
   * - `coalesce`: the waiting intervals are merged into one (counters add, gauges take the
   *   last value, timers concatenate, sets union), so a delta forwarder loses no count.
   */
  readonly busyPolicy?: BusyPolicy;
  /**
   * How long one delivery may take, its retries included (default: the flush interval).
   * The flusher aborts `flush`'s signal then. A backend that retries set it to its retry
   * budget: while it retries, newer intervals wait under its busy policy, and the flusher's
   * durations, results and overdue counts describe the real delivery.
   */
  readonly deliveryTimeoutMs?: number;
  /**
   * Delivers one interval's aggregates, resolving when they are delivered (or counted as
   * dropped): the flusher is the one queue of intervals. MUST NOT mutate `snapshot`, and MUST NOT read it
   * after settling: the snapshot is reused once every backend it was handed to has
   * settled. Rejects only with a BackendError, after counting what was lost; MUST settle
   * promptly once `signal` aborts (until it settles, this backend gets no other interval),
   * unless its work is local and bounded by the series count (SepAgent, Prometheus): such
   * a backend may finish late, counted as `timeout` and overdue, rather than lose the
   * interval.
   */
  flush(snapshot: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void>;
  /** Delivers one event (fire and forget); backends that ignore events resolve at once. */
  sendEvent(event: StatsdEvent, signal: AbortSignal): Promise<void>;
  /** Delivers one DogStatsD service check (fire and forget); absent when the backend has no use for them. */
  sendServiceCheck?(check: ServiceCheck, signal: AbortSignal): Promise<void>;
  /**
   * Takes a changed (validated) section and shared settings live, keeping cumulative
   * state. Present exactly when the factory is {@link BackendFactory.reconfigurable}.
   */
  reconfigure?(config: unknown, shared: SharedBackendSettings): void;
  /**
   * What this backend would send for the series of `snapshot`, or why it would leave
   * them out (`statsd-sepagent explain`). Called only on an instance that is never
   * started, with small snapshots; it may update the instance's state as a flush would
   * (so lines explained in turn see each other, e.g. a Prometheus type conflict), and
   * never sends anything.
   */
  explain?(snapshot: FlushSnapshot): Explanation;
}

/** A backend's answer to {@link Backend.explain}. */
export interface Explanation {
  /** What it would send, as it writes it: lines, documents, series with their labels. */
  readonly emits: readonly string[];
  /** Why it sends nothing for a series: a reason (the label its counters use) and what failed on what. */
  readonly leftOut?: { readonly reason: string; readonly detail: string };
  /** How it got there: the rule that matched, the name it derived, … */
  readonly notes?: readonly string[];
}

/** See {@link Backend.busyPolicy}. */
export type BusyPolicy = 'latest' | 'coalesce';

/** Per-backend accounting handed to each backend through its deps (labelled with its instance name). */
export interface BackendMetrics {
  /** A send attempt failed with an errno-style code (ECONNREFUSED, EMSGSIZE, …). */
  sendError(code: string): void;
  /** Items (SepAgent items, output lines, …) that were not delivered, by reason. */
  dropped(reason: string, count: number): void;
  /** Datagrams/writes and items delivered to the OS. */
  sent(datagrams: number, items: number): void;
  /** How long one request (an HTTP attempt) took, answered or failed. */
  requestDuration?(seconds: number): void;
  /**
   * Series the backend left out of its output (a name it has no place for), by reason:
   * each once per interval in which it received samples.
   */
  leftOut?(reason: string, series: number): void;
  /** How many series the backend left out of its last flush, idle ones included. */
  leftOutAtFlush?(series: number): void;
}

/** BackendMetrics that record nothing (tests, tools). */
export const noopBackendMetrics: BackendMetrics = {
  sendError: () => undefined,
  dropped: () => undefined,
  sent: () => undefined,
};

/** What the daemon hands every backend it creates. */
export interface BackendDeps {
  /** The instance name (`sepagent`, `sepagent.canary`): the backend's {@link Backend.name}. */
  name: string;
  logger: Logger;
  clock: Clock;
  metrics: BackendMetrics;
  /** The daemon's HTTP server, for backends that serve paths; absent when `web-addr` is off. */
  routes?: RouteRegistry;
  /** The stdout backend's output; process.stdout unless a test supplies one. */
  stdout?: NodeJS.WritableStream;
  /** The live tap (`/debug/tap`): where a backend shows the series it leaves out, while one is open. */
  tap?: BackendTap;
}

/** Where a backend shows the series it has no place for, by name (`/debug/tap`, kind `unmatched`). */
export interface BackendTap {
  /** Whether a tap is open: a backend looks up names only then. */
  readonly open: boolean;
  /** A series `backend` left out of its output, with the reason its counters use. */
  unmatched(backend: string, name: string, reason: string): void;
}

/** Settings every backend may read besides its own section. */
export interface SharedBackendSettings {
  disabledSubMetrics: DisabledSubMetrics;
  /** `max-series`: the cap on series a backend that keeps its own series applies too. */
  maxSeries: number;
  /** `envoy-tag-extraction`: tag-aware backends take Envoy name segments out as tags. */
  envoyTagExtraction: EnvoyTagRules;
  /** `expiry-interval` and its per-kind variants: how long a backend that keeps series keeps an idle one. */
  expiry: ExpiryConfig;
  /**
   * `[pod-tags]`: the `name:value` tags the daemon adds to every series, and the same
   * values as OpenTelemetry resource attributes (`k8s.pod.name`, …), for backends that
   * describe the pod once per request instead of once per series.
   */
  podTags?: { readonly tags: readonly string[]; readonly resource: Readonly<Record<string, string>> };
}

/**
 * BackendFactory pairs a backend type with its config section handling and constructor.
 * Every instance of the type (`sepagent`, `sepagent.canary`) is made by it from its own
 * section. `validate` never throws: it appends problems to `issues` (paths start with
 * `path`).
 */
export interface BackendFactory<C> {
  readonly type: string;
  /** The keys its section takes (besides `[type.<instance>]` subsections): for docs and the chart's schema. */
  readonly keys: readonly string[];
  /** One line for `--help` and docs. */
  readonly description: string;
  /**
   * Whether instances read {@link SharedBackendSettings}: when those change in a reload,
   * only such instances are replaced; the others keep running with their state.
   */
  readonly readsSharedSettings?: boolean;
  /**
   * Whether a running instance takes a changed section (and shared settings) through
   * {@link Backend.reconfigure} instead of being replaced, so cumulative state survives.
   */
  readonly reconfigurable?: boolean;
  /** Files the section refers to (a mapping file): a change to one reloads the configuration. */
  referencedFiles?(config: C): string[];
  defaultConfig(): C;
  /** Validates the raw `[type]` or `[type.name]` section (undefined when absent). */
  validate(raw: unknown, path: string, issues: ConfigIssue[]): C;
  create(config: C, shared: SharedBackendSettings, deps: BackendDeps): Backend;
}
