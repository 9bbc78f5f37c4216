// Many clients at once on the one local model: the fair queue answers them all, refuses the one
// too many with 429 and retry-after, and a client that goes away stops its generation (the model
// is free for the next request at once).
import Anthropic from '@anthropic-ai/sdk';
import type { WorkerGenerator } from '@shammah/core-inference';
import { createRouter } from '@shammah/router';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../src/index.js';
import { eventually, metric } from './support/metrics.js';
import { loadRealModel } from './support/real-model.js';

let local: WorkerGenerator;
let daemon: Daemon;
let url: string;
let client: OpenAI;

beforeAll(async () => {
  local = await loadRealModel();
  // Composed as the shammah-daemon bin composes it: the router over the queued local model.
  daemon = createDaemon({
    local,
    route: (models) => createRouter(models),
    port: 0,
    maxQueuedRequests: 3,
    defaultMetrics: false,
  });
  url = (await daemon.listen()).url;
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await daemon?.close();
  await local?.dispose();
});

/**
 * Starts a streamed answer the model would keep writing for thousands of tokens, and resolves once
 * its first token arrived (so it holds the model). Abort the controller to hang up.
 */
async function startEndlessAnswer(controller: AbortController, session: string): Promise<void> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-session-id': session },
    body: JSON.stringify({
      model: 'shammah',
      stream: true,
      max_tokens: 4000,
      messages: [{ role: 'user', content: 'Repeat the word "hello" forever.' }],
    }),
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes('"content":"H')) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended early');
    text += new TextDecoder().decode(value);
  }
}

describe('concurrent clients', () => {
  it('answers four clients at once', async () => {
    const questions = ['France', 'Italy', 'Spain', 'Germany'].map((country) =>
      client.chat.completions.create({
        model: 'shammah',
        max_tokens: 8,
        messages: [{ role: 'user', content: `What is the capital of ${country}?` }],
      }),
    );
    const answers = await Promise.all(questions);
    for (const answer of answers) {
      expect(answer.choices[0]?.message.content?.length).toBeGreaterThan(0);
      expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
    }
    expect(answers[0]?.choices[0]?.message.content).toContain('Paris');
    expect(await metric(url, 'shammah_queue_depth')).toBe(0);
    expect(await metric(url, 'shammah_queue_active')).toBe(0);
  });
});

describe('a full queue', () => {
  it('refuses the request past the bound with 429 and retry-after, in both protocols', async () => {
    const holder = new AbortController();
    await startEndlessAnswer(holder, 'holder');
    // Three wait (the bound); their clients stay.
    const waiting = [1, 2, 3].map((index) =>
      client.chat.completions.create(
        { model: 'shammah', max_tokens: 3, messages: [{ role: 'user', content: `Say ${index}.` }] },
        { headers: { 'x-session-id': `waiter-${index}` } },
      ),
    );
    expect(await eventually(async () => (await metric(url, 'shammah_queue_depth')) === 3)).toBe(true);

    const refused = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'shammah', messages: [{ role: 'user', content: 'One more?' }] }),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({
      error: { type: 'requests', code: 'rate_limit_exceeded', param: null },
    });

    const anthropic = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
    const anthropicError = await anthropic.messages
      .create({ model: 'shammah', max_tokens: 3, messages: [{ role: 'user', content: 'One more?' }] })
      .catch((caught: unknown) => caught);
    expect(anthropicError).toBeInstanceOf(Anthropic.RateLimitError);
    expect((anthropicError as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });
    expect(await metric(url, 'shammah_queue_rejected_total')).toBe(2);

    // Hanging up on the endless answer stops it: the waiting requests are answered promptly, which
    // they could not be if the model were still writing its thousands of tokens.
    const hungUp = Date.now();
    holder.abort();
    const answers = await Promise.all(waiting);
    expect(Date.now() - hungUp).toBeLessThan(20_000);
    for (const answer of answers) expect(answer.choices[0]?.finish_reason).toMatch(/stop|length/);
    expect(await metric(url, 'shammah_requests_cancelled_total', { stage: 'answering' })).toBe(1);
    expect(await metric(url, 'shammah_queue_active')).toBe(0);
  });

  it('drops a waiting request from the queue when its client hangs up', async () => {
    const holder = new AbortController();
    await startEndlessAnswer(holder, 'holder-2');
    const leaver = new AbortController();
    const left = fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'shammah', max_tokens: 3, messages: [{ role: 'user', content: 'Hi' }] }),
      signal: leaver.signal,
    }).catch((error: unknown) => error);
    expect(await eventually(async () => (await metric(url, 'shammah_queue_depth')) === 1)).toBe(true);
    leaver.abort();
    expect(await left).toBeInstanceOf(Error);
    expect(await eventually(async () => (await metric(url, 'shammah_queue_depth')) === 0)).toBe(true);
    expect(await metric(url, 'shammah_requests_cancelled_total', { stage: 'waiting' })).toBe(1);
    holder.abort();
    expect(await eventually(async () => (await metric(url, 'shammah_queue_active')) === 0)).toBe(true);
  });
});

describe('graceful close', () => {
  it('lets the answer in progress finish within the grace period, then takes no more connections', async () => {
    const answer = client.chat.completions.create({
      model: 'shammah',
      max_tokens: 12,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    expect(await eventually(async () => (await metric(url, 'shammah_queue_active')) === 1)).toBe(true);
    await daemon.close({ graceMs: 60_000 });
    expect((await answer).choices[0]?.message.content).toContain('Paris');
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
