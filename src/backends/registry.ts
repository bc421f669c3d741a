import type { BackendFactory } from './backend.js';
import { cloudwatchBackendFactory } from './cloudwatch/index.js';
import { datadogBackendFactory } from './datadog/index.js';
import { forwarderBackendFactory } from './forwarder/index.js';
import { graphiteBackendFactory } from './graphite/index.js';
import { newRelicBackendFactory } from './newrelic/index.js';
import { statsdaemonBackendFactory } from './statsdaemon/index.js';
import { nullBackendFactory } from './null/index.js';
import { otlpBackendFactory } from './otlp/index.js';
import { prometheusBackendFactory } from './prometheus/index.js';
import { remoteWriteBackendFactory } from './prometheus-remote-write/index.js';
import { sepAgentBackendFactory } from './sepagent/index.js';
import { stdoutBackendFactory } from './stdout/index.js';

/** Every backend this build can run, by the name used in `backends`. */
export const BACKEND_FACTORIES: ReadonlyMap<string, BackendFactory<unknown>> = new Map<string, BackendFactory<unknown>>(
  [
    sepAgentBackendFactory,
    stdoutBackendFactory,
    nullBackendFactory,
    prometheusBackendFactory,
    forwarderBackendFactory,
    graphiteBackendFactory,
    statsdaemonBackendFactory,
    remoteWriteBackendFactory,
    datadogBackendFactory,
    cloudwatchBackendFactory,
    newRelicBackendFactory,
    otlpBackendFactory,
  ].map((f) => [f.type, f as BackendFactory<unknown>]),
);

/**
 * Backends of the Go reference that this build does not provide. Their config sections
 * are accepted (so existing files load) but selecting them is an error.
 */
export const REFERENCE_ONLY_BACKENDS: readonly string[] = ['influxdb'];
