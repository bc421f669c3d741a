import type { DebugEndpoints } from '../shared/debug-endpoints.js';
import type { GaugeDeltaRule } from '../ingest/ingester.js';
import type { DisabledPercentiles, DisabledSubMetrics } from '../aggregator/snapshot.js';
import type { ExpiryConfig } from '../aggregator/in-memory-aggregator.js';
import type { FilterConfig } from '../ingest/filter.js';
import type { LogFormat } from '../shared/logger.js';
import type { PodTagsConfig } from './pod-tags.js';
import type { EnvoyTagRules } from '../shared/envoy-tags.js';

/**
 * DaemonConfig is the validated configuration. Field comments name the key; see
 * docs/config.md for defaults and reload behaviour.
 */
export interface DaemonConfig {
  /** `verbose`: debug logging. Reloads live. */
  verbose: boolean;
  /** `log-format` (or gostatsd's `json`). Restart. */
  logFormat: LogFormat;
  /**
   * Settings of the receivers that are on, by receiver type (`udp`: `metrics-addr`,
   * `receive-buffer-size`, `udp-receiver`; `tcp`: `tcp-addr`, `tcp-max-line-length`), in
   * start order. Restart.
   */
  receivers: Record<string, unknown>;
  /** `web-addr`; `''` = off. Restart. */
  webAddr: string;
  /** `backends`, in order. Live. */
  backends: string[];
  /** Validated backend sections by backend name (only for selected backends). Live. */
  backendConfigs: Record<string, unknown>;
  /** `flush-interval` in ms. Live. */
  flushIntervalMs: number;
  /** `max-workers`: UDP ingest threads (1: the main thread reads). Restart. */
  maxWorkers: number;
  /** `flush-thread`: UDP ingest on a thread of its own even with one worker. Restart. */
  flushThread: boolean;
  /** `percent-threshold`. Live. */
  percentThresholds: number[];
  /** `max-series`: cap on live series; 0 = none. Live. */
  maxSeries: number;
  /** `timer-exact-values`: values a timer keeps exactly per interval; 0 = all. Live. */
  timerExactValues: number;
  /** `timer-max-buckets`: a folded timer's histogram buckets per sign. Live. */
  timerMaxBuckets: number;
  /** `expiry-interval` and its per-type variants. Live. */
  expiry: ExpiryConfig;
  /** `default-tags`. Live. */
  defaultTags: string[];
  /** `[pod-tags]`: tags from the pod's Downward API, resolved at load. Live (its files are followed). */
  podTags: PodTagsConfig;
  /** `namespace`. Live. */
  namespace: string;
  /** `ignore-host`. Live. */
  ignoreHost: boolean;
  /** `container-id-tag`. Live. */
  containerIdTag: boolean;
  /** `gauge-deltas`: what a signed gauge value does. Live. */
  gaugeDeltas: GaugeDeltaRule;
  /** `istio-names`. Restart. */
  istioNames: boolean;
  /** `envoy-tag-extraction`. Live (a shared backend setting). */
  envoyTagExtraction: EnvoyTagRules;
  /** `filters` resolved to their `[filter.<name>]` sections, in order. Live. */
  filters: FilterConfig[];
  /** `[disabled-sub-metrics]` percentile flags (act in the aggregator). Live. */
  disabledPercentiles: DisabledPercentiles;
  /** `[disabled-sub-metrics]` base flags (honoured by the stdout backend). Live. */
  disabledSubMetrics: DisabledSubMetrics;
  /** `debug-endpoints`. Live. */
  debugEndpoints: DebugEndpoints;
  /** `bad-lines-per-minute`. Live. */
  badLinesPerMinute: number;
  /** `hostname`. Restart. */
  hostname: string;
  /** `shutdown-timeout` in ms. Live. */
  shutdownTimeoutMs: number;
}
