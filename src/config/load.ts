import { extname } from 'node:path';
import { ConfigError, errorMessage, type ConfigIssue } from '../shared/errors.js';
import { isPlainObject } from '../shared/check.js';
import { parseStructured, readUtf8File, type DocumentFormat } from '../shared/documents.js';
import type { DaemonConfig } from './config.js';
import { envName, SOURCE_KEYS, topLevelKeys } from './keys.js';
import type { ConfigCatalog } from './catalog.js';
import { validateConfig } from './validate.js';

/** Document formats a config source can hold. */
export type ConfigFormat = DocumentFormat;

/** Picks the format from a file name's extension, or undefined if unknown. */
export function formatFromName(name: string): ConfigFormat | undefined {
  switch (extname(name).toLowerCase()) {
    case '.toml':
      return 'toml';
    case '.yaml':
    case '.yml':
      return 'yaml';
    case '.json':
      return 'json';
    default:
      return undefined;
  }
}

/** Lower-cases every key recursively (keys are case-insensitive, as in the reference). */
export function lowerKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(lowerKeys);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  // defineProperty: a key such as "__proto__" stays a plain (unknown, reported) key
  // instead of replacing the object's prototype.
  for (const [k, val] of Object.entries(v))
    Object.defineProperty(out, k.toLowerCase(), {
      value: lowerKeys(val),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

/**
 * Parses a config document within the document limits. Syntax errors become issues that
 * name the line (and column) so the user can find them; the result's keys are lower-cased.
 * Never throws.
 */
export function parseDocument(
  text: string,
  format: ConfigFormat,
): { doc: Record<string, unknown>; issues: ConfigIssue[] } {
  const parsed = parseStructured(text, format);
  if (!parsed.ok) return { doc: {}, issues: [{ path: '', severity: 'error', message: parsed.error }] };
  const warnings = parsed.warnings.map((message): ConfigIssue => ({ path: '', severity: 'warning', message }));
  let value = parsed.value;
  if (value === null || value === undefined) value = {};
  if (!isPlainObject(value)) {
    return {
      doc: {},
      issues: [
        {
          path: '',
          severity: 'error',
          message: `the document must be a map of keys, got ${Array.isArray(value) ? 'a list' : typeof value}`,
        },
      ],
    };
  }
  return { doc: lowerKeys(value) as Record<string, unknown>, issues: warnings };
}

/** `GSD_*` environment variables for top-level keys, as raw strings. */
export function envOverrides(
  env: NodeJS.ProcessEnv,
  catalog: Pick<ConfigCatalog, 'receivers'>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of topLevelKeys(catalog)) {
    if (SOURCE_KEYS.has(k.key)) continue;
    const v = env[envName(k.key)];
    if (v !== undefined) out[k.key] = v;
  }
  return out;
}

/** A document with `GSD_` variables and explicit flags laid over it: flag > env > document. */
function overlay(
  doc: Record<string, unknown>,
  layers: Pick<ConfigLayers, 'flags' | 'env'>,
  catalog: Pick<ConfigCatalog, 'receivers'>,
): Record<string, unknown> {
  return { ...doc, ...envOverrides(layers.env ?? {}, catalog), ...(layers.flags ?? {}) };
}

/** Where the layers of a configuration come from. */
export interface ConfigLayers {
  /** Path of the config file, if any. */
  configPath?: string;
  /** Overrides from flags that were given explicitly. */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** The merged raw document and the issues found while reading it. */
export interface LoadedDocument {
  raw: Record<string, unknown>;
  issues: ConfigIssue[];
}

/**
 * Reads the file (if any), then overlays `GSD_` environment variables and explicit
 * flags: flag > env > file > default. Sections come only from the file.
 */
export async function loadRawConfig(
  layers: ConfigLayers,
  catalog: Pick<ConfigCatalog, 'receivers'>,
): Promise<LoadedDocument> {
  let fileDoc: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  if (layers.configPath !== undefined && layers.configPath !== '') {
    const format = formatFromName(layers.configPath);
    if (format === undefined) {
      issues.push({
        path: 'config-path',
        severity: 'error',
        message: `"${layers.configPath}": unknown file type; use .toml, .yaml, .yml or .json`,
      });
    } else {
      let text: string | undefined;
      try {
        text = await readUtf8File(layers.configPath);
      } catch (err) {
        issues.push({
          path: 'config-path',
          severity: 'error',
          message: `cannot read "${layers.configPath}": ${errorMessage(err)}`,
        });
      }
      if (text !== undefined) {
        const parsed = parseDocument(text, format);
        fileDoc = parsed.doc;
        issues.push(...parsed.issues);
      }
    }
  }
  const raw = overlay(fileDoc, layers, catalog);
  return { raw, issues };
}

/** Flags and environment: the layers that override every config document. */
export type OverrideLayers = Pick<ConfigLayers, 'flags' | 'env'>;

/**
 * Parses a config document (from a file or a ConfigMap), overlays the environment and
 * flags and validates the result: the same path as start-up and `check-config`.
 */
export function configFromDocument(
  text: string,
  format: ConfigFormat,
  layers: OverrideLayers,
  catalog: ConfigCatalog,
): { config: DaemonConfig | undefined; issues: ConfigIssue[] } {
  const parsed = parseDocument(text, format);
  return validateLoaded({ raw: overlay(parsed.doc, layers, catalog), issues: parsed.issues }, catalog, layers.env);
}

/**
 * Validates a loaded document: the config, or undefined with at least one error issue.
 * Never throws: a validator that throws (a defect) still only rejects the document.
 */
export function validateLoaded(
  loaded: LoadedDocument,
  catalog: ConfigCatalog,
  env: NodeJS.ProcessEnv | undefined,
): { config: DaemonConfig | undefined; issues: ConfigIssue[] } {
  try {
    const v = validateConfig(loaded.raw, catalog, env);
    const issues = [...loaded.issues, ...v.issues];
    const ok = v.config !== undefined && !issues.some((i) => i.severity === 'error');
    return { config: ok ? v.config : undefined, issues };
  } catch (err) {
    const failed: ConfigIssue = { path: '', severity: 'error', message: `cannot validate: ${errorMessage(err)}` };
    return { config: undefined, issues: [...loaded.issues, failed] };
  }
}

/** Loads, merges and validates; throws a ConfigError listing every problem. */
export async function loadConfig(
  layers: ConfigLayers,
  catalog: ConfigCatalog,
): Promise<{ config: DaemonConfig; warnings: ConfigIssue[] }> {
  const { config, issues } = validateLoaded(await loadRawConfig(layers, catalog), catalog, layers.env);
  if (config === undefined) {
    throw new ConfigError(
      issues.filter((i) => i.severity === 'error'),
      layers.configPath ? `configuration (${layers.configPath})` : 'configuration',
    );
  }
  return { config, warnings: issues };
}
