import type { Checker } from '../shared/check.js';
import { isPlainObject } from '../shared/check.js';

/** Container resources as the pod spec holds them (only cpu and memory are set by the injector). */
export interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * The value of a Kubernetes resource quantity (`250m`, `0.5`, `192Mi`, `1e3`), or
 * undefined when the text is not one (the API server's own grammar: a signless decimal
 * with a binary-SI, decimal-SI or exponent suffix).
 */
export function parseQuantity(text: string): number | undefined {
  const m = /^\+?((?:\d+(?:\.\d*)?)|(?:\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return n * SUFFIX[suffix]!;
}

const RESOURCE_NAMES = ['cpu', 'memory'] as const;

/**
 * Validates `{requests: {cpu, memory}, limits: {cpu, memory}}`: each value a quantity,
 * no request above its limit. Problems are reported under `path`.
 */
export function checkResources(c: Checker, raw: unknown, path: string): Resources {
  if (!isPlainObject(raw)) {
    c.error(path, 'must be a mapping with requests and limits');
    return {};
  }
  c.unknownKeys(raw, ['requests', 'limits'], path);
  const out: Resources = {};
  for (const part of ['requests', 'limits'] as const) {
    const v = raw[part];
    if (v === undefined) continue;
    if (!isPlainObject(v)) {
      c.error(`${path}.${part}`, 'must be a mapping of cpu and memory');
      continue;
    }
    c.unknownKeys(v, RESOURCE_NAMES, `${path}.${part}`);
    const values: Record<string, string> = {};
    for (const name of RESOURCE_NAMES) {
      if (v[name] === undefined) continue;
      const text = c.string(v[name], `${path}.${part}.${name}`, '');
      if (parseQuantity(text) === undefined)
        c.error(`${path}.${part}.${name}`, `"${text}" is not a Kubernetes quantity (e.g. 50m, 0.5, 192Mi)`);
      else values[name] = text;
    }
    out[part] = values;
  }
  for (const name of RESOURCE_NAMES) {
    const req = out.requests?.[name];
    const lim = out.limits?.[name];
    if (req !== undefined && lim !== undefined && parseQuantity(req)! > parseQuantity(lim)!)
      c.error(`${path}.requests.${name}`, `request ${req} is above the limit ${lim}`);
  }
  return out;
}
