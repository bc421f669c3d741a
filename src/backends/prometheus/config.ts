import { readUtf8FileSync } from '../../shared/documents.js';
import { Checker } from '../../shared/check.js';
import { DaemonError, errorMessage, type ConfigIssue } from '../../shared/errors.js';
import { MetricMapper, parseMappingText } from './mapping.js';

/** PrometheusConfig is the `[prometheus]` section. */
export interface PrometheusConfig extends MappingSettings {
  /**
   * `path`: where the exposition is served on `web-addr`. `/metrics` (the default) adds
   * it to the daemon's own page after the self-metrics; any other path is its own route,
   * which also speaks OpenMetrics to scrapers that ask for it.
   */
  path: string;
}

/** Keys of the `[prometheus]` section. */
export const PROMETHEUS_KEYS = ['path', 'mapping-config', 'mapping'] as const;

const EMPTY_MAPPING = 'mappings: []\n';

/**
 * Validates a raw `[prometheus]` section, reading the mapping file it names. Mapping
 * problems are reported with the file and the YAML path: `prometheus.mapping-config:
 * mappings[2].name`.
 */
export function validatePrometheusConfig(raw: unknown, path: string, issues: ConfigIssue[]): PrometheusConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, PROMETHEUS_KEYS, path, { mapping_config: 'mapping-config', 'telemetry-path': 'path' });
  const p = c.string(s['path'], `${path}.path`, '/metrics').trim();
  if (!p.startsWith('/') || /[\s?#]/.test(p)) c.error(`${path}.path`, `"${p}" is not an HTTP path such as /metrics`);
  const mapping = readMapping(c, s, path, issues);
  return { path: p, ...mapping };
}

/** Where a section's statsd_exporter mapping comes from, and its text. */
export interface MappingSettings {
  /** `mapping-config`: a statsd_exporter mapping file (`''` = none); re-read on every reload. */
  mappingConfig: string;
  /**
   * The mapping in force as YAML text: the file's content, or the inline `mapping` (a
   * string, or a map written out as JSON, which is YAML too). Reloads compare it, so an
   * edited mapping file reconfigures the backend.
   */
  mappingSource: string;
}

/**
 * Reads a section's `mapping-config` (a file) or inline `mapping` and checks the mapping;
 * problems are reported with the file and the YAML path. Shared by the backends that name
 * series with statsd_exporter mappings.
 */
export function readMapping(
  c: Checker,
  s: Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
): MappingSettings {
  const mappingConfig = c.string(s['mapping-config'], `${path}.mapping-config`, '').trim();
  const inline = s['mapping'];
  if (mappingConfig !== '' && inline !== undefined)
    c.error(`${path}.mapping`, 'set either mapping-config (a file) or mapping (inline), not both');
  let source = EMPTY_MAPPING;
  let where = `${path}.mapping`;
  if (mappingConfig !== '') {
    where = `${path}.mapping-config`;
    try {
      source = readUtf8FileSync(mappingConfig);
    } catch (err) {
      c.error(where, `cannot read "${mappingConfig}": ${errorMessage(err)}`);
    }
  } else if (typeof inline === 'string') source = inline;
  else if (inline !== undefined) source = JSON.stringify(inline);
  parseMappingText(source, where, issues);
  return { mappingConfig, mappingSource: source };
}

/** The mapper of a validated section. */
export function mapperOf(config: MappingSettings): MetricMapper {
  const cfg = parseMappingText(config.mappingSource, 'mapping', []);
  if (cfg === undefined) throw new DaemonError('ERR_INTERNAL', 'the prometheus mapping was not validated');
  return new MetricMapper(cfg);
}
