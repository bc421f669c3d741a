import type { BackendFactory } from '../backend.js';
import { PROMETHEUS_KEYS, validatePrometheusConfig, type PrometheusConfig } from './config.js';
import type * as Implementation from './prometheus-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './prometheus-backend.js');

/** Factory of the `prometheus` backend. */
export const prometheusBackendFactory = {
  type: 'prometheus',
  keys: PROMETHEUS_KEYS,
  description: 'cumulative series for Prometheus to scrape on web-addr, named by statsd_exporter mapping files',
  reconfigurable: true,
  referencedFiles: (config) => (config.mappingConfig === '' ? [] : [config.mappingConfig]),
  defaultConfig: () => validatePrometheusConfig(undefined, 'prometheus', []),
  validate: validatePrometheusConfig,
  create: (config, shared, deps) => new (implementation().PrometheusBackend)(config, shared, deps),
} satisfies BackendFactory<PrometheusConfig>;
