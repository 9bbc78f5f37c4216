import { ApiCallError } from '@shammah/provider';
import { describe, expect, test } from 'vitest';
import { defaultRetryPolicy, parseRetryAfter, retryDelay } from './retry.js';

describe('parseRetryAfter', () => {
  test('reads seconds, fractional seconds and an HTTP date', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }))).toBe(2_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '1.5' }))).toBe(1_500);
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 21 Oct 2026 07:28:30 GMT' }), now)).toBe(
      30_000,
    );
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 21 Oct 2026 07:27:00 GMT' }), now)).toBe(0);
  });

  test('prefers retry-after-ms, and ignores what it cannot read', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' }))).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': 'soon', 'retry-after': '3' }))).toBe(3_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'later' }))).toBeUndefined();
    expect(parseRetryAfter(new Headers())).toBeUndefined();
    expect(parseRetryAfter({ 'Retry-After': '4' })).toBe(4_000);
  });
});

describe('retryDelay', () => {
  const error = (kind: 'rate-limit' | 'auth' | 'server', retryAfterMs?: number) =>
    new ApiCallError('failed', {
      kind,
      provider: 'openai',
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });

  test('waits what the server asked for, and gives up when that is longer than the policy allows', () => {
    expect(retryDelay(error('rate-limit', 1_000), 0, defaultRetryPolicy)).toBe(1_000);
    expect(retryDelay(error('rate-limit', 120_000), 0, defaultRetryPolicy)).toBeUndefined();
  });

  test('backs off exponentially without a hint, stops after maxRetries, never retries auth', () => {
    const policy = { ...defaultRetryPolicy, initialDelayMs: 100, maxDelayMs: 1_000 };
    const first = retryDelay(error('server'), 0, policy)!;
    const second = retryDelay(error('server'), 1, policy)!;
    expect(first).toBeGreaterThanOrEqual(75);
    expect(first).toBeLessThanOrEqual(100);
    expect(second).toBeGreaterThanOrEqual(150);
    expect(second).toBeLessThanOrEqual(200);
    expect(retryDelay(error('server'), policy.maxRetries, policy)).toBeUndefined();
    expect(retryDelay(error('auth'), 0, policy)).toBeUndefined();
  });
});
