import { describe, expect, test } from 'vitest';
import { type FailedCall, toApiCallError } from './api-error.js';
import { jsonFixture } from './test-support/stub-server.js';

const call = (
  statusCode: number | undefined,
  body: unknown,
  extra: Partial<FailedCall> = {},
): FailedCall => ({
  provider: 'test',
  providerLabel: 'Test',
  modelId: 'model-1',
  ...(statusCode !== undefined ? { statusCode } : {}),
  body,
  ...extra,
});

describe('toApiCallError', () => {
  test.each([
    ['OpenAI bad key', 401, 'openai/error-invalid-api-key.json', 'auth'],
    ['xAI bad key (a 400)', 400, 'xai/error-incorrect-api-key.json', 'auth'],
    ['Gemini bad key (a 400)', 400, 'gemini/error-api-key-invalid.json', 'auth'],
    ['Mistral context', 400, 'mistral/error-context-length.json', 'context-too-long'],
    ['xAI context', 400, 'xai/error-context-length.json', 'context-too-long'],
    ['Groq context', 400, 'groq/error-context-length.json', 'context-too-long'],
    ['Anthropic context', 400, 'anthropic/error-prompt-too-long.json', 'context-too-long'],
    ['Gemini context', 400, 'gemini/error-token-count.json', 'context-too-long'],
    ['Gemini quota', 429, 'gemini/error-resource-exhausted.json', 'rate-limit'],
  ])('%s → %s', (_name, status, file, kind) => {
    expect(toApiCallError(call(status, jsonFixture(file))).kind).toBe(kind);
  });

  test('other statuses map to the kind the router acts on', () => {
    expect(toApiCallError(call(529, '{"type":"error","error":{"type":"overloaded_error"}}')).kind).toBe(
      'server',
    );
    expect(toApiCallError(call(503, 'upstream connect error')).kind).toBe('server');
    expect(toApiCallError(call(404, { error: { message: 'The model `gpt-9` does not exist' } })).kind).toBe(
      'not-found',
    );
    expect(toApiCallError(call(422, { detail: [{ msg: 'field required' }] })).kind).toBe('invalid-request');
    expect(toApiCallError(call(undefined, undefined, { network: true })).kind).toBe('network');
    expect(
      toApiCallError(
        call(429, { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } }),
      ).kind,
    ).toBe('auth');
  });

  test('a mid-stream error event without status is classified by its type', () => {
    const overloaded = toApiCallError(call(undefined, {}, { providerCode: 'overloaded_error' }));
    expect(overloaded.kind).toBe('server');
    expect(overloaded.isRetryable).toBe(true);
  });

  test("Gemini's RetryInfo in the body becomes retryAfterMs", () => {
    expect(toApiCallError(call(429, jsonFixture('gemini/error-resource-exhausted.json'))).retryAfterMs).toBe(
      1_000,
    );
  });

  test('the message quotes the provider and says what to do; secrets are cut from message and body', () => {
    const error = toApiCallError(
      call(
        401,
        { error: { message: 'Incorrect API key provided: sk-secret-123456' } },
        {
          secrets: ['sk-secret-123456'],
          keyHint: 'OPENAI_API_KEY or api_key',
        },
      ),
    );
    expect(error.message).toContain('Test (model-1) rejected the credentials (HTTP 401)');
    expect(error.message).toContain('OPENAI_API_KEY or api_key');
    expect(error.message).not.toContain('sk-secret-123456');
    expect(error.responseBody).not.toContain('sk-secret-123456');
    expect(error.code).toBe('api_auth');
    expect(error.statusCode).toBe(401);
  });
});
