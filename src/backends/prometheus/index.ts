import type { BackendFactory } from '../backend.js';
import { PROMETHEUS_KEYS, validatePrometheusConfig, type PrometheusConfig } from './config.js';
import { PrometheusBackend } from './prometheus-backend.js';

/** Factory of the `prometheus` backend. */
export const prometheusBackendFactory = {
  type: 'prometheus',
  keys: PROMETHEUS_KEYS,
  description: 'cumulative series for Prometheus to scrape on web-addr, named by statsd_exporter mapping files',
  reconfigurable: true,
  referencedFiles: (config) => (config.mappingConfig === '' ? [] : [config.mappingConfig]),
  defaultConfig: () => validatePrometheusConfig(undefined, 'prometheus', []),
  validate: validatePrometheusConfig,
  create: (config, shared, deps) => new PrometheusBackend(config, shared, deps),
} satisfies BackendFactory<PrometheusConfig>;
