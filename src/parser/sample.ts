/** The four aggregation kinds. `ms`, `h` and `d` (distribution) lines all become `timer`. */
export type MetricKind = 'counter' | 'gauge' | 'timer' | 'set';

/** One metric sample as written on a StatsD line, before host and tag processing. */
export interface ParsedMetric {
  readonly kind: MetricKind;
  /** Normalised name (only `[A-Za-z0-9._-]`), without the namespace. */
  readonly name: string;
  /** The name as written (UTF-8) when normalisation changed it (`get/threads`); `''` otherwise. */
  readonly rawName: string;
  /** Numeric value for counters, gauges and timers; 0 for sets. */
  readonly value: number;
  /** Set member for sets; `''` otherwise. */
  readonly member: string;
  /** Sample rate; 1 when the line has none. Always finite and > 0. */
  readonly rate: number;
  /** Tags in line order, empty pieces dropped, not yet de-duplicated. */
  readonly tags: string[];
  /** More values of a packed line (`name:1:2:3|ms`, DogStatsD 1.1), after `value`; usually empty. */
  readonly extraValues: readonly number[];
  /** The client's `|T<unix seconds>` (DogStatsD 1.3); 0 when absent. Accepted, not used for aggregation. */
  readonly timestamp: number;
  /** The client's `|c:<container id>` (DogStatsD 1.2); `''` when absent. */
  readonly containerId: string;
  /** Fields after the type that were not understood (`|x…`) and skipped. */
  readonly skippedFields: number;
  /** The (first) value is written with a sign (`+3`, `-3`): a gauge delta under `gauge-deltas = apply`. */
  readonly signed: boolean;
}

/** Status of a DogStatsD service check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
export type ServiceCheckStatus = 0 | 1 | 2 | 3;

/** A DogStatsD service check (`_sc|name|status|…` line). Never aggregated. */
export interface ServiceCheck {
  readonly name: string;
  readonly status: ServiceCheckStatus;
  /** Unix seconds from `d:`; 0 when absent (the receiver fills in "now"). */
  timestamp: number;
  /** From `h:`; `''` when absent (the receiver fills in the source address). */
  hostname: string;
  /** From `m:` (always last on the line, so it may hold `|`). */
  readonly message: string;
  tags: string[];
}

/** Priority of a DogStatsD event. */
export type EventPriority = 'normal' | 'low';
/** Alert type of a DogStatsD event. */
export type EventAlertType = 'info' | 'warning' | 'error' | 'success';

/** A DogStatsD event (`_e{..}` line). Events are never aggregated. */
export interface StatsdEvent {
  readonly title: string;
  readonly text: string;
  /** Unix seconds from the `d:` attribute; 0 when absent (the receiver fills in "now"). */
  dateHappened: number;
  /** From the `h:` attribute; `''` when absent (the receiver fills in the source address). */
  hostname: string;
  readonly aggregationKey: string;
  readonly priority: EventPriority;
  readonly sourceTypeName: string;
  readonly alertType: EventAlertType;
  tags: string[];
}

/**
 * The longest metric name accepted, in bytes as received. Longer names are rejected
 * (`name_too_long`) before any pattern, filter or mapping sees them, which bounds the work
 * one line can cost.
 */
export const MAX_NAME_BYTES = 1024;

/**
 * Why a line was rejected. The values double as the `reason` label of
 * `statsd_sepagent_bad_lines_total`.
 */
export type ParseErrorReason =
  /** The line is empty (e.g. `a:1|c\n\nb:1|c` has one). */
  | 'empty_line'
  /** No `:` between name and value, or no `|` before the type. */
  | 'malformed_line'
  /** The name is empty once normalised (`:1|c`, `€:1|c`). */
  | 'empty_name'
  /** The name is longer than {@link MAX_NAME_BYTES}. */
  | 'name_too_long'
  /** The type is not one of `c g s ms h`, or is followed by garbage. */
  | 'invalid_type'
  /** The value is not a number (or NaN, out of range, or infinite for a counter). */
  | 'invalid_value'
  /** The `@rate` is not a finite number greater than 0. */
  | 'invalid_sample_rate'
  /** Something other than `@rate` or `#tags` follows the type. */
  | 'invalid_suffix'
  /** Starts with `_` but is neither an event nor a service check (`_foo:1|c`). */
  | 'unsupported_line'
  /** A malformed `_e{..}` event line. */
  | 'malformed_event'
  /** A malformed `_sc|…` service check line. */
  | 'malformed_service_check';

/** Every parse error reason, for pre-creating metric label values. */
export const PARSE_ERROR_REASONS: readonly ParseErrorReason[] = [
  'empty_line',
  'malformed_line',
  'empty_name',
  'name_too_long',
  'invalid_type',
  'invalid_value',
  'invalid_sample_rate',
  'invalid_suffix',
  'unsupported_line',
  'malformed_event',
  'malformed_service_check',
];

/** The outcome of parsing one line: a metric, an event, a service check or a rejection reason. */
export type ParseResult =
  | { readonly type: 'metric'; readonly metric: ParsedMetric }
  | { readonly type: 'event'; readonly event: StatsdEvent }
  | { readonly type: 'check'; readonly check: ServiceCheck }
  | {
      readonly type: 'error';
      readonly reason: ParseErrorReason;
      /** Where the line goes wrong: an index into the parsed bytes (the line's end when something is missing). */
      readonly at: number;
    };
