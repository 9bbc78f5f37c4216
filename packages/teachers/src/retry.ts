import type { ApiCallError } from '@shammah/provider';

/** How a teacher retries failed calls. One policy for every provider: the SDKs' own retries are off. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 2. */
  maxRetries: number;
  /** First back-off delay; it doubles each retry, with jitter. Default 500 ms. */
  initialDelayMs: number;
  /** Longest back-off delay. Default 8 s. */
  maxDelayMs: number;
  /**
   * Longest wait a server may ask for with `retry-after`. A longer one is not waited for: the error is
   * thrown at once, so a {@link TeacherChain} can move to the next teacher. Default 60 s.
   */
  maxRetryAfterMs: number;
}

/** The default {@link RetryPolicy}. */
export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 2,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** Anything with a `get(name)` for headers: `Headers`, or a plain record. */
export type HeaderSource =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

function headerValue(headers: HeaderSource | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The wait a server asked for, in milliseconds: `retry-after-ms` (OpenAI, Anthropic), else `retry-after`
 * as seconds or as an HTTP date. `undefined` when there is none or it cannot be read.
 *
 * @example
 * ```ts
 * parseRetryAfter(new Headers({ 'retry-after': '2' })); // 2000
 * ```
 */
export function parseRetryAfter(
  headers: HeaderSource | undefined,
  now: number = Date.now(),
): number | undefined {
  const milliseconds = headerValue(headers, 'retry-after-ms');
  if (milliseconds !== undefined && milliseconds.trim() !== '') {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = headerValue(headers, 'retry-after')?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const date = Date.parse(retryAfter);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * How long to wait before retry number `retry` (0-based), or `undefined` when the error must not be
 * retried: it is not retryable, the retries are used up, or the server asked for a longer wait than
 * the policy allows.
 */
export function retryDelay(error: ApiCallError, retry: number, policy: RetryPolicy): number | undefined {
  if (!error.isRetryable || retry >= policy.maxRetries) return undefined;
  if (error.retryAfterMs !== undefined) {
    return error.retryAfterMs <= policy.maxRetryAfterMs ? error.retryAfterMs : undefined;
  }
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
  return exponential * (0.75 + Math.random() * 0.25);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
