// Generates the parts of charts/statsd-sepagent/values.schema.json that describe the daemon's
// configuration, from the daemon's own key table and backend registry, so the chart refuses
// a misspelled key at `helm install` with the key's name and never drifts from the daemon:
//
//   npx tsx scripts/chart-schema.ts            # rewrite the schema
//   npx tsx scripts/chart-schema.ts --check    # exit 1 when it is stale (the tests run this)
//
// Generated: config.backends and aggregator.backends (every backend type), config.settings
// and aggregator.settings (every top-level key the chart does not set itself, typed as the
// daemon reads it), config.backendSections (a section per backend type without values of
// its own, each with that type's keys; a table that is not a key is an instance section).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import prettier from 'prettier';
import { SOURCE_KEYS, topLevelKeys, type KeySpec, type KeyType } from '../src/config/keys.js';
import { COMPONENTS } from '../src/daemon/components.js';

const SCHEMA = join(import.meta.dirname, '..', 'charts', 'statsd-sepagent', 'values.schema.json');

/** Top-level keys the chart renders itself, from structured values or as the sidecar's flags. */
export const CHART_OWNED_KEYS: readonly string[] = [
  'backends',
  'server-mode',
  'flush-interval',
  'percent-threshold',
  'default-tags',
  'http-servers',
  'max-workers',
  'metrics-addr',
  'web-addr',
  'log-format',
  'shutdown-timeout',
  'unix-socket',
  'unix-socket-mode',
];

/** Backend types whose sections the chart renders from values of their own (sepagent.*, prometheus.*, forwarder.*). */
const OWN_VALUES = new Set(['sepagent', 'prometheus', 'forwarder']);

const TYPES: Record<KeyType, object> = {
  string: { type: 'string' },
  bool: { type: 'boolean' },
  int: { type: 'integer' },
  bytes: { type: ['integer', 'string'] },
  duration: { type: 'string' },
  list: { type: ['array', 'string'] },
  address: { type: 'string' },
};

/** The row's allowed values and integer bounds as JSON Schema keywords. */
function bounds(k: KeySpec): object {
  if (k.values !== undefined) return { enum: k.values };
  if (k.type !== 'int') return {};
  return {
    ...(k.min === undefined ? { minimum: 0 } : { minimum: k.min }),
    ...(k.max === undefined ? {} : { maximum: k.max }),
  };
}

/** The JSON Schema of one top-level key in the chart's `config.settings`. */
export function keySchema(k: KeySpec): object {
  return { ...TYPES[k.type], ...bounds(k), description: k.describe };
}

function generated(): Record<string, object> {
  const backendTypes = [...COMPONENTS.backends.keys()];
  const settings = {
    type: 'object',
    description: 'Top-level keys of the daemon (docs/config.md) the chart does not set itself.',
    additionalProperties: false,
    properties: Object.fromEntries(
      topLevelKeys(COMPONENTS)
        .filter((k) => k.noEffect !== true && !SOURCE_KEYS.has(k.key) && !CHART_OWNED_KEYS.includes(k.key))
        .map((k) => [k.key, { ...TYPES[k.type], ...bounds(k), description: k.describe }]),
    ),
  };
  const sections = {
    type: 'object',
    description: "Sections of the backends without values of their own, by type, with the daemon's keys.",
    additionalProperties: false,
    properties: Object.fromEntries(
      [...COMPONENTS.backends.values()]
        .filter((f) => !OWN_VALUES.has(f.type) && f.keys.length > 0)
        .map((f) => [
          f.type,
          {
            type: 'object',
            description: f.description,
            properties: Object.fromEntries(f.keys.map((k) => [k, {}])),
            // A table that is not a key is an instance's section ([datadog.eu]).
            additionalProperties: { type: 'object' },
          },
        ]),
    ),
  };
  return {
    backends: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: backendTypes },
    },
    settings,
    backendSections: sections,
  };
}

export async function schemaText(): Promise<string> {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as {
    properties: Record<string, { properties: Record<string, unknown> }>;
  };
  const g = generated();
  const config = schema.properties['config']!.properties;
  config['backends'] = g['backends'];
  config['settings'] = g['settings'];
  config['backendSections'] = g['backendSections'];
  const aggregator = schema.properties['aggregator']!.properties;
  aggregator['backends'] = g['backends'];
  aggregator['settings'] = { $ref: '#/properties/config/properties/settings' };
  // Formatted as the repository formats JSON, so the file passes `prettier --check`.
  const options = (await prettier.resolveConfig(SCHEMA)) ?? {};
  return prettier.format(JSON.stringify(schema), { ...options, filepath: SCHEMA });
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const text = await schemaText();
  if (process.argv.includes('--check')) {
    if (readFileSync(SCHEMA, 'utf8') !== text) {
      console.error(`${SCHEMA} is stale: run \`npx tsx scripts/chart-schema.ts\``);
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA, text);
    console.log(`wrote ${SCHEMA}`);
  }
}
