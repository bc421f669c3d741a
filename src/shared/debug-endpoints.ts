/**
 * `debug-endpoints`: which `/debug/*` paths of the admin server answer. `metrics` (the
 * default): `/debug/metrics`; `tap`: `/debug/metrics` and the live tap `/debug/tap`, which
 * shows received lines; `off`: neither. The status page at `/` is served whenever
 * `web-addr` is on.
 */
export const DEBUG_ENDPOINTS = ['metrics', 'tap', 'off'] as const;
export type DebugEndpoints = (typeof DEBUG_ENDPOINTS)[number];
