import type { SharedBackendSettings } from '../../src/backends/backend.js';

/** Shared backend settings for a backend built outside a daemon: no Envoy rules, series never expire. */
export function testSharedSettings(maxSeries: number): SharedBackendSettings {
  return {
    disabledSubMetrics: {} as never,
    maxSeries,
    envoyTagExtraction: 'off',
    expiry: { counterMs: 0, gaugeMs: 0, setMs: 0, timerMs: 0 },
  };
}
