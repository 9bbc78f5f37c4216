import { readFile } from 'node:fs/promises';
import { ShammahError } from '@shammah/provider';
import { parse, stringify, TomlError } from 'smol-toml';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { shammahPaths } from './paths.js';
import { configSchema, type ShammahConfig } from './schema.js';

/** The config file is not valid TOML or does not fit the schema. */
export class ConfigError extends ShammahError {
  override readonly name = 'ConfigError';
  readonly path: string;
  readonly line: number | undefined;
  constructor(path: string, line: number | undefined, message: string, options: { cause?: unknown } = {}) {
    super('config_invalid', `${path}${line ? ` line ${line}` : ''}: ${message}`, options);
    this.path = path;
    this.line = line;
  }
}

/** Finds the line of `key` inside the table named by `path` (e.g. ['backend'] or ['teachers', 1]). */
export function locateKey(
  text: string,
  path: ReadonlyArray<string | number>,
  key?: string,
): number | undefined {
  const lines = text.split('\n');
  const tablePath = path.filter((part) => typeof part === 'string').join('.');
  const arrayIndex = path.find((part) => typeof part === 'number') as number | undefined;
  let current = '';
  let arrayCount = -1;
  let tableLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header) {
      current = header[1]!.replaceAll('"', '');
      if (line.startsWith('[[') && current === tablePath) arrayCount++;
      if (current === tablePath && (arrayIndex === undefined || arrayCount === arrayIndex)) tableLine = i + 1;
      continue;
    }
    const inTable = current === tablePath && (arrayIndex === undefined || arrayCount === arrayIndex);
    if (key && inTable && new RegExp(`^"?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*=`).test(line))
      return i + 1;
  }
  if (!key && tablePath === '') return undefined;
  return tableLine;
}

function sectionName(path: ReadonlyArray<PropertyKey>): string {
  const named = path.filter((part) => typeof part === 'string').join('.');
  return named ? `[${named}]` : 'the top level';
}

function describeIssue(issue: z.core.$ZodIssue, text: string): { line: number | undefined; message: string } {
  const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const shape = shapeAt(path);
    const known = shape ? ` Known fields there: ${Object.keys(shape).join(', ')}.` : '';
    return {
      line: locateKey(text, path, issue.keys[0]),
      message: `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')} in ${sectionName(path)}. Remove it or fix its spelling.${known}`,
    };
  }
  const key = path.at(-1);
  const parent = path.slice(0, -1);
  const where = typeof key === 'string' ? `"${key}" in ${sectionName(parent)}` : sectionName(path);
  return {
    line: typeof key === 'string' ? locateKey(text, parent, key) : locateKey(text, path),
    message: `${where}: ${issue.message}.`,
  };
}

function shapeAt(path: ReadonlyArray<string | number>): Record<string, unknown> | undefined {
  let schema: z.ZodType = configSchema;
  for (const part of path) {
    let inner: z.ZodType = schema;
    while ('unwrap' in inner && typeof (inner as { unwrap?: unknown }).unwrap === 'function') {
      inner = (inner as unknown as { unwrap(): z.ZodType }).unwrap();
    }
    if (inner instanceof z.ZodObject) schema = inner.shape[part as string] as z.ZodType;
    else if (inner instanceof z.ZodArray) schema = inner.element as z.ZodType;
    else if (inner instanceof z.ZodRecord) schema = inner.valueType as z.ZodType;
    else return undefined;
    if (!schema) return undefined;
  }
  let inner: z.ZodType = schema;
  while ('unwrap' in inner && typeof (inner as { unwrap?: unknown }).unwrap === 'function') {
    inner = (inner as unknown as { unwrap(): z.ZodType }).unwrap();
  }
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, unknown>) : undefined;
}

/** Moves the original's older layouts to the current one. */
function migrate(raw: Record<string, unknown>): Record<string, unknown> {
  const data = { ...raw };
  if (typeof data.streaming_enabled === 'boolean') {
    const features = { ...((data.features as Record<string, unknown>) ?? {}) };
    features.streaming_enabled ??= data.streaming_enabled;
    data.features = features;
  }
  const fallback = data.fallback as Record<string, unknown> | undefined;
  if (fallback && !data.teachers) {
    const primary = typeof fallback.provider === 'string' ? fallback.provider : undefined;
    const names = Object.keys(fallback).filter(
      (key) => key !== 'provider' && typeof fallback[key] === 'object',
    );
    const ordered = primary ? [primary, ...names.filter((name) => name !== primary)] : names;
    data.teachers = ordered
      .filter((name) => fallback[name] && typeof fallback[name] === 'object')
      .map((name) => ({ provider: name, ...(fallback[name] as Record<string, unknown>) }));
  }
  return data;
}

/** Parses and validates config.toml text. `path` only names the file in errors. */
export function parseConfig(text: string, path = 'config.toml'): ShammahConfig {
  let raw: Record<string, unknown>;
  try {
    raw = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      throw new ConfigError(
        path,
        error.line,
        `${error.message.split('\n')[0]} — fix the TOML syntax there.`,
        { cause: error },
      );
    }
    throw error;
  }
  const result = configSchema.safeParse(migrate(raw));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const { line, message } = describeIssue(issue, text);
    throw new ConfigError(path, line, message, { cause: result.error });
  }
  return result.data;
}

/** Options for reading and writing the config. */
export interface ConfigLocation {
  /** The file. Default `config.toml` in Shammah's home. */
  path?: string;
}

/**
 * Reads config.toml; with no file, the defaults.
 *
 * @example
 * ```ts
 * const config = await loadConfig();
 * console.log(config.client.daemon_address); // 127.0.0.1:11435
 * ```
 */
export async function loadConfig(location: ConfigLocation = {}): Promise<ShammahConfig> {
  const path = location.path ?? shammahPaths().config;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return configSchema.parse({});
    throw error;
  }
  return parseConfig(text, path);
}

/** Drops empty optional values so the written file stays small and readable. */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (entry === undefined) continue;
      out[key] = prune(entry);
    }
    return out;
  }
  return value;
}

/** Validates and writes the config atomically (a crash never leaves a half-written file). */
export async function saveConfig(config: ShammahConfig, location: ConfigLocation = {}): Promise<void> {
  const path = location.path ?? shammahPaths().config;
  const valid = configSchema.parse(config);
  const { fallback: _legacy, streaming_enabled: _moved, ...current } = valid;
  await writeFileAtomic(path, `${stringify(prune(current) as Record<string, unknown>)}\n`, 0o600);
}

function coerce(value: string): unknown {
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value.startsWith('[') || value.startsWith('{')) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

/** Reads a value by dotted key (`client.daemon_address`). */
export function getConfigValue(config: ShammahConfig, key: string): unknown {
  let node: unknown = config;
  for (const part of key.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * Sets a value by dotted key from its text form (`true`, `42`, JSON arrays, or a string), validates
 * the result, and returns the new config. Throws a ConfigError naming the key when invalid.
 */
export function setConfigValue(config: ShammahConfig, key: string, text: string): ShammahConfig {
  const copy = structuredClone(config) as Record<string, unknown>;
  const parts = key.split('.');
  let node = copy;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = coerce(text);
  const result = configSchema.safeParse(copy);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(
      'config',
      undefined,
      `cannot set ${key} to ${text}: ${describeIssue(issue, '').message}`,
    );
  }
  return result.data;
}

/** Qwen2.5 sizes named by the original's `model_size`. */
const QWEN_SIZES = { Small: '1.5B', Medium: '3B', Large: '7B', XLarge: '14B' } as const;

/**
 * The model to run: `model_path`, else `model_repo`, else the onnx-community repository that
 * `model_family` and `model_size` name (as the original chose), else undefined (recommend by RAM).
 */
export function configuredModel(config: ShammahConfig): string | undefined {
  const { backend } = config;
  if (backend.model_path) return backend.model_path;
  if (backend.model_repo) return backend.model_repo;
  if (backend.model_size && backend.model_family.toLowerCase().startsWith('qwen')) {
    return `onnx-community/Qwen2.5-${QWEN_SIZES[backend.model_size]}-Instruct`;
  }
  return undefined;
}
