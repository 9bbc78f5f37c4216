import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatMessage, ContextLengthError } from '@shammah/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from './errors.js';
import { Generator } from './generator.js';
import { realModelDir } from './test-support/models.js';
import { WorkerGenerator } from './worker-generator.js';

const france: ChatMessage[] = [{ role: 'user', content: 'What is the capital of France?' }];

describe('WorkerGenerator on the real model', () => {
  let generator: WorkerGenerator;
  let dir: string;

  beforeAll(async () => {
    dir = await realModelDir();
    generator = await WorkerGenerator.load({ model: dir, variant: 'fp32' });
  });
  afterAll(async () => {
    await generator?.dispose();
  });

  it('answers exactly as the in-process Generator does', async () => {
    const inProcess = await Generator.load({ model: dir, variant: 'fp32' });
    try {
      const expected = await inProcess.generate({ messages: france, maxTokens: 32 });
      const actual = await generator.generate({ messages: france, maxTokens: 32 });
      expect(actual.text).toBe(expected.text);
      expect(actual.text).toContain('Paris');
      expect(actual.usage).toMatchObject({
        inputTokens: expected.usage.inputTokens,
        outputTokens: expected.usage.outputTokens,
      });
      expect(generator.status).toMatchObject({ state: 'ready', variant: 'fp32' });
    } finally {
      await inProcess.dispose();
    }
  });

  it('keeps the main thread responsive during a long prefill', async () => {
    const long: ChatMessage[] = [
      { role: 'user', content: `${'The history of France is long. '.repeat(90)}Summarise it.` },
    ];
    let last = performance.now();
    let worstLag = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstLag = Math.max(worstLag, now - last - 10);
      last = now;
    }, 10);
    try {
      const result = await generator.generate({ messages: long, maxTokens: 4 });
      expect(result.usage.inputTokens).toBeGreaterThan(500);
    } finally {
      clearInterval(timer);
    }
    // An in-process prefill of this prompt blocks the event loop for seconds.
    expect(worstLag).toBeLessThan(250);
  });

  it('cancels on abort and when the reader stops early', async () => {
    const controller = new AbortController();
    let reason: string | undefined;
    let deltas = 0;
    for await (const part of generator.stream({
      messages: [{ role: 'user', content: 'Write a long story about a dragon.' }],
      maxTokens: 300,
      signal: controller.signal,
    })) {
      if (part.type === 'text-delta' && ++deltas === 2) controller.abort();
      if (part.type === 'finish') reason = part.finishReason;
    }
    expect(reason).toBe('abort');
    for await (const part of generator.stream({ messages: france, maxTokens: 300 })) {
      if (part.type === 'text-delta') break;
    }
    // The next request is served at once, so the abandoned one was cancelled.
    const started = performance.now();
    const next = await generator.generate({ messages: france, maxTokens: 4 });
    expect(next.usage.outputTokens).toBe(4);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('brings errors back as the same classes', async () => {
    await expect(
      generator.generate({ messages: [{ role: 'user', content: 'word '.repeat(9000) }] }),
    ).rejects.toBeInstanceOf(ContextLengthError);
  });
});

describe('WorkerGenerator loading', () => {
  it('reports a missing model as failed with the reason', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'shammah-empty-'));
    const generator = WorkerGenerator.create({ model: 'nobody/missing', cacheDir });
    try {
      await expect(generator.ready()).rejects.toBeInstanceOf(ModelNotFoundError);
      expect(generator.status.state).toBe('failed');
    } finally {
      await generator.dispose();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
