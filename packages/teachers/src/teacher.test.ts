import { ApiCallError, collectStream } from '@shammah/provider';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createAnthropicTeacher } from './anthropic-teacher.js';
import { createOpenAITeacher } from './openai-compatible-teachers.js';
import { fixture, StubServer } from './test-support/stub-server.js';
import { anthropic, openAI } from './test-support/wire-protocols.js';

const question = { messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };

describe('the shared retry loop', () => {
  let server: StubServer;
  beforeAll(async () => {
    server = await StubServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  test("Anthropic's overloaded error event before any text is retried", async () => {
    server.reply({ sse: fixture('anthropic/error-overloaded-stream.sse') }, anthropic.plain(true));
    const teacher = createAnthropicTeacher({
      apiKey: anthropic.apiKey,
      baseURL: server.url,
      retry: { initialDelayMs: 10 },
    });
    const result = await collectStream(teacher.stream(question));
    expect(result.text).toBe('The capital of France is Paris.');
    expect(server.requests).toHaveLength(2);
  });

  test('an overloaded error that persists is a retryable server error', async () => {
    const overloaded = { sse: fixture('anthropic/error-overloaded-stream.sse') };
    server.reply(overloaded, overloaded);
    const teacher = createAnthropicTeacher({
      apiKey: anthropic.apiKey,
      baseURL: server.url,
      retry: { maxRetries: 1, initialDelayMs: 10 },
    });
    const error = await collectStream(teacher.stream(question)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiCallError);
    expect((error as ApiCallError).kind).toBe('server');
    expect((error as ApiCallError).isRetryable).toBe(true);
  });

  test('a server that goes silent times out, is retried, then reported as a time-out', async () => {
    const silent = { sse: fixture('openai/chat-completion-stream.sse'), stallAfterEvents: 1 };
    server.reply(silent, silent);
    const teacher = createOpenAITeacher({
      apiKey: openAI.apiKey,
      baseURL: `${server.url}/v1`,
      timeoutMs: 200,
      retry: { maxRetries: 1, initialDelayMs: 10 },
    });
    const started = performance.now();
    const error = await collectStream(teacher.stream(question)).catch((caught: unknown) => caught);
    expect((error as ApiCallError).kind).toBe('timeout');
    expect(server.requests).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test('a stream cut before its end is a network error, retried when nothing was shown yet', async () => {
    const cut = fixture('openai/chat-completion-stream.sse').split('\n\n').slice(0, 1).join('\n\n');
    server.reply({ sse: `${cut}\n\n` }, openAI.plain(true));
    const teacher = createOpenAITeacher({
      apiKey: openAI.apiKey,
      baseURL: `${server.url}/v1`,
      retry: { initialDelayMs: 10 },
    });
    const result = await collectStream(teacher.stream(question));
    expect(result.text).toBe('The capital of France is Paris.');
    expect(server.requests).toHaveLength(2);
  });

  test('a stream cut after text was shown is not retried: the error says so', async () => {
    const cut = fixture('openai/chat-completion-stream.sse').split('\n\n').slice(0, 3).join('\n\n');
    server.reply({ sse: `${cut}\n\n` }, openAI.plain(true));
    const teacher = createOpenAITeacher({ apiKey: openAI.apiKey, baseURL: `${server.url}/v1` });
    const error = await collectStream(teacher.stream(question)).catch((caught: unknown) => caught);
    expect((error as ApiCallError).kind).toBe('network');
    expect((error as Error).message).toMatch(/ended before the answer was complete/);
    expect(server.requests).toHaveLength(1);
  });

  test('an unreachable server is a network error after the retries', async () => {
    const closed = await StubServer.start();
    const url = closed.url;
    await closed.close();
    const teacher = createOpenAITeacher({
      apiKey: openAI.apiKey,
      baseURL: `${url}/v1`,
      retry: { maxRetries: 1, initialDelayMs: 10 },
    });
    const error = await teacher.generate(question).catch((caught: unknown) => caught);
    expect((error as ApiCallError).kind).toBe('network');
  });

  test('an already aborted request sends nothing; finish parts carry timings; totals add up', async () => {
    const teacher = createOpenAITeacher({
      apiKey: openAI.apiKey,
      baseURL: `${server.url}/v1`,
      model: 'gpt-4.1',
    });
    const aborted = await teacher.generate({ ...question, signal: AbortSignal.abort() });
    expect(aborted.finishReason).toBe('abort');
    expect(server.requests).toHaveLength(0);

    server.reply(openAI.plain(true), openAI.plain(false));
    const streamed = await collectStream(teacher.stream(question));
    expect(streamed.timings?.totalMs).toBeGreaterThan(0);
    expect(streamed.timings?.timeToFirstTokenMs).toBeLessThanOrEqual(streamed.timings!.totalMs);
    await teacher.generate(question);
    expect(teacher.totals).toMatchObject({ requests: 3, inputTokens: 38, outputTokens: 16 });
    expect(teacher.totals.costUsd).toBeCloseTo((38 * 2 + 16 * 8) / 1_000_000);
    expect(teacher.costOf({ inputTokens: 1_000_000, outputTokens: 0 })).toBe(2);
  });
});

describe('header values are secrets', () => {
  let server: StubServer;
  beforeAll(async () => {
    server = await StubServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  test('the token of a Bearer header is cut out of an error even when quoted without "Bearer"', async () => {
    const token = 'cf-aig-0f3b9d2e7c1a4b6d8e0f';
    server.reply((request) =>
      openAI.echoError(
        `gateway token ${String(request.headers['cf-aig-authorization']).replace(/^Bearer /, '')} is expired`,
      ),
    );
    const teacher = createOpenAITeacher({
      apiKey: openAI.apiKey,
      baseURL: `${server.url}/v1`,
      headers: { 'cf-aig-authorization': `Bearer ${token}` },
    });
    const error = await teacher.generate(question).catch((caught: unknown) => caught);
    expect(server.requests[0]!.headers['cf-aig-authorization']).toBe(`Bearer ${token}`);
    expect(error).toBeInstanceOf(ApiCallError);
    expect((error as ApiCallError).message).toContain('gateway token [redacted] is expired');
    expect((error as ApiCallError).responseBody).not.toContain(token);
  });
});
