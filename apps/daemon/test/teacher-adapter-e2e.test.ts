// The OpenAI-compatible teacher adapter end to end against a real server: another Shammah daemon
// with the real SmolLM2 model. This is how one Shammah uses another (or Ollama, vLLM, …) as teacher.
import type { WorkerGenerator } from '@shammah/core-inference';
import { ApiCallError } from '@shammah/provider';
import { createRouter } from '@shammah/router';
import { createOpenAICompatibleTeacher } from '@shammah/teachers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../src/index.js';
import { loadRealModel } from './support/real-model.js';

let local: WorkerGenerator;
let daemon: Daemon;
let url: string;

beforeAll(async () => {
  local = await loadRealModel();
  daemon = createDaemon({ local, route: (models) => createRouter(models), port: 0, defaultMetrics: false });
  url = (await daemon.listen()).url;
});

afterAll(async () => {
  await daemon?.close();
  await local?.dispose();
});

describe('createOpenAICompatibleTeacher against a real Shammah daemon', () => {
  const question = [{ role: 'user' as const, content: 'What is the capital of France?' }];

  it('answers, streams the same text, and reports usage and cost', async () => {
    const teacher = createOpenAICompatibleTeacher({ baseURL: `${url}/v1`, model: 'shammah' });
    const whole = await teacher.generate({ messages: question, maxTokens: 24 });
    expect(whole.text).toContain('Paris');
    expect(whole.finishReason).toBe('stop');
    expect(whole.usage.inputTokens).toBeGreaterThan(10);
    expect(whole.usage.outputTokens).toBeGreaterThan(0);
    let streamed = '';
    for await (const part of teacher.stream({ messages: question, maxTokens: 24 })) {
      if (part.type === 'text-delta') streamed += part.text;
    }
    expect(streamed).toBe(whole.text);
    expect(teacher.totals.requests).toBeGreaterThanOrEqual(2);
  });

  it('stops when aborted mid-answer', async () => {
    const teacher = createOpenAICompatibleTeacher({ baseURL: `${url}/v1`, model: 'shammah' });
    const controller = new AbortController();
    let reason: string | undefined;
    let deltas = 0;
    try {
      for await (const part of teacher.stream({
        messages: [{ role: 'user', content: 'Write a long story about a dragon.' }],
        maxTokens: 300,
        signal: controller.signal,
      })) {
        if (part.type === 'text-delta' && ++deltas === 2) controller.abort();
        if (part.type === 'finish') reason = part.finishReason;
      }
    } catch (error) {
      reason = (error as ApiCallError).kind;
    }
    expect(['abort', 'aborted']).toContain(reason);
    expect(deltas).toBeLessThan(10);
  });

  it('turns the server error shape into a typed error', async () => {
    const teacher = createOpenAICompatibleTeacher({ baseURL: `${url}/v1`, model: 'shammah' });
    const error = await teacher.generate({ messages: [], maxTokens: 5 }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ApiCallError);
    expect((error as ApiCallError).kind).toBe('invalid-request');
    expect((error as ApiCallError).statusCode).toBe(400);
  });
});
