import type { Logger, ModelCapabilities } from '@shammah/provider';
import { MissingApiKeyError } from './errors.js';
import type { PriceTable } from './pricing.js';
import type { RetryPolicy } from './retry.js';

/**
 * Settings every teacher factory takes. Only `apiKey` is usually needed, and it defaults to the
 * provider's conventional environment variable.
 */
export interface TeacherSettings {
  /** API key; defaults to the provider's environment variable (`ANTHROPIC_API_KEY`, …). */
  apiKey?: string;
  /** Model id; defaults to the provider's current general-purpose model. */
  model?: string;
  /** API base URL, for proxies, gateways and self-hosted servers. */
  baseURL?: string;
  /** Extra HTTP headers sent with every request. */
  headers?: Record<string, string>;
  /** A `fetch` to use instead of the global one (proxies, tests). */
  fetch?: typeof globalThis.fetch;
  /** A pino-compatible logger; the teacher logs through `logger.child({ module: 'teachers', … })`. */
  logger?: Logger;
  /** Display name, e.g. `Claude`. Defaults to `provider:model`. */
  name?: string;
  /**
   * Longest wait, in milliseconds, for a response to start and, when streaming, between two events;
   * a non-streamed request must complete within `max(timeoutMs, 600000)`. Default 120000.
   */
  timeoutMs?: number;
  /** Retry policy; unset fields keep {@link defaultRetryPolicy}'s values. */
  retry?: Partial<RetryPolicy>;
  /** Price overrides in USD per million tokens, keyed by model id (or `*` for any model without a price). */
  prices?: PriceTable;
  /** Capability overrides for this model (e.g. a local server's real context length). */
  capabilities?: Partial<ModelCapabilities>;
  /** Where to read keys from; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
}

/** The key from settings, else the first set environment variable; throws {@link MissingApiKeyError}. */
export function resolveApiKey(
  provider: string,
  settings: TeacherSettings,
  environmentVariables: readonly string[],
): string {
  const key = optionalApiKey(settings, environmentVariables);
  if (key === undefined) throw new MissingApiKeyError(provider, environmentVariables);
  return key;
}

/** The key from settings or the environment, or `undefined` (for servers that need none). */
export function optionalApiKey(
  settings: TeacherSettings,
  environmentVariables: readonly string[],
): string | undefined {
  const explicit = settings.apiKey?.trim();
  if (explicit) return explicit;
  const env = settings.env ?? process.env;
  for (const name of environmentVariables) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}
