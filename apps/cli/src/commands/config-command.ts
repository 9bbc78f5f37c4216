import { getConfigValue, loadConfig, saveConfig, setConfigValue, shammahPaths } from '@shammah/config';
import { stringify } from 'smol-toml';
import { UsageError } from '../cli-arguments.js';

const SECRET_KEYS = new Set(['api_key', 'api_keys']);

/** `sk-ant-api03-…abcd`: enough to recognise a key, not enough to use it. */
export function maskSecret(value: string): string {
  return value.length <= 8 ? '••••' : `${value.slice(0, 6)}…${value.slice(-4)}`;
}

/** A copy of the config with API keys masked, for printing. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    return SECRET_KEYS.has(key)
      ? value.map((item) => (typeof item === 'string' ? maskSecret(item) : item))
      : value.map((item) => maskSecrets(item));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, entry]) => entry !== undefined)
        .map(([name, entry]) => [name, maskSecrets(entry, name)]),
    );
  }
  if (typeof value === 'string' && SECRET_KEYS.has(key)) return maskSecret(value);
  return value;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '';
  if (value && typeof value === 'object') {
    return Array.isArray(value) && value.every((item) => typeof item !== 'object')
      ? JSON.stringify(value)
      : stringify(value as Record<string, unknown>).trimEnd();
  }
  return String(value);
}

/**
 * `shammah config`: `show` (the whole configuration, defaults filled in, keys masked), `path`,
 * `get <key>` and `set <key> <value>` with dotted keys (`client.use_daemon`, `teachers.0.model`).
 * Writes are validated and atomic.
 */
export async function runConfigCommand(args: readonly string[], out = process.stdout): Promise<number> {
  const [action = 'show', key, ...rest] = args;
  const path = shammahPaths().config;
  switch (action) {
    case 'path':
      out.write(`${path}\n`);
      return 0;
    case 'show': {
      const config = await loadConfig();
      const { fallback: _legacy, streaming_enabled: _moved, ...current } = config;
      out.write(`# ${path}\n${stringify(maskSecrets(current) as Record<string, unknown>)}\n`);
      return 0;
    }
    case 'get': {
      if (!key)
        throw new UsageError(
          'Usage: shammah config get <key>, e.g. shammah config get client.daemon_address',
        );
      const value = getConfigValue(await loadConfig(), key);
      if (value === undefined) {
        process.stderr.write(`shammah: ${key} is not set (and has no default). See shammah config show.\n`);
        return 1;
      }
      const last = key.split('.').at(-1) ?? '';
      out.write(`${formatValue(maskSecrets(value, last))}\n`);
      return 0;
    }
    case 'set': {
      if (!key || rest.length === 0) {
        throw new UsageError(
          'Usage: shammah config set <key> <value>, e.g. shammah config set client.use_daemon false',
        );
      }
      const config = setConfigValue(await loadConfig(), key, rest.join(' '));
      await saveConfig(config);
      const last = key.split('.').at(-1) ?? '';
      out.write(`${key} = ${formatValue(maskSecrets(getConfigValue(config, key), last))}  (${path})\n`);
      return 0;
    }
    default:
      throw new UsageError(
        `Unknown config action "${action}". Use show, path, get <key> or set <key> <value>.`,
      );
  }
}
