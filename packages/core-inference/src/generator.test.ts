import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatMessage, ContextLengthError } from '@shammah/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from './errors.js';
import { Generator } from './generator.js';
import { argmax } from './sampler.js';
import { realModelDir } from './test-support/models.js';

const france: ChatMessage[] = [{ role: 'user', content: 'What is the capital of France?' }];

async function collectText(generator: Generator, messages: ChatMessage[], extra: object = {}) {
  let text = '';
  let finish:
    | {
        finishReason: string;
        usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number };
      }
    | undefined;
  for await (const part of generator.stream({ messages, ...extra })) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'finish') finish = part;
  }
  return { text, finish: finish! };
}

describe('Generator on the real SmolLM2-135M-Instruct (fp32)', () => {
  let generator: Generator;
  let dir: string;

  beforeAll(async () => {
    dir = await realModelDir();
    generator = await Generator.load({ model: dir, variant: 'fp32', prefixCacheSize: 2 });
  });
  afterAll(async () => {
    await generator?.dispose();
  });

  it('answers a question sensibly, with no template markers in the text', async () => {
    const result = await generator.generate({ messages: france, maxTokens: 48 });
    expect(result.text).toContain('Paris');
    expect(result.text).not.toMatch(/<\|im_(start|end)\|>|<\|endoftext\|>/);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.inputTokens).toBeGreaterThan(20);
    expect(result.usage.outputTokens).toBeGreaterThan(3);
    expect(result.timings?.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(result.timings?.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('streams the same text that generate returns', async () => {
    const whole = await generator.generate({ messages: france, maxTokens: 48 });
    const streamed = await collectText(generator, france, { maxTokens: 48 });
    expect(streamed.text).toBe(whole.text);
    expect(streamed.finish.usage.outputTokens).toBe(whole.usage.outputTokens);
  });

  it('generates the same greedy tokens with the KV cache as by recomputing every position', async () => {
    const prompt = generator.tokenizer.encodeChat(france);
    const cached: number[] = [];
    for await (const event of generator.generateTokens(prompt, { maxTokens: 12 })) {
      if (event.type === 'token' && event.id >= 0) cached.push(event.id);
    }
    const recomputed: number[] = [];
    const ids = [...prompt];
    const vocab = generator.tokenizer.specialIds.size > 0 ? undefined : undefined;
    void vocab;
    for (let step = 0; step < cached.length; step++) {
      const logits = await generator.logits(ids);
      const rowSize = logits.length / ids.length;
      const next = argmax(logits.subarray(logits.length - rowSize));
      recomputed.push(next);
      ids.push(next);
    }
    expect(cached.length).toBeGreaterThan(5);
    expect(recomputed).toEqual(cached);
  });

  it('keeps a multi-turn conversation and reuses the shared prefix, with the same tokens as a cold run', async () => {
    const first = await generator.generate({ messages: france, maxTokens: 48 });
    const followUp: ChatMessage[] = [
      ...france,
      { role: 'assistant', content: first.text },
      { role: 'user', content: 'And what is the capital of Germany?' },
    ];
    const warm = await collectText(generator, followUp, { maxTokens: 32 });
    expect(warm.finish.usage.cachedInputTokens).toBeGreaterThan(first.usage.inputTokens - 2);
    expect(warm.text).toContain('Berlin');

    generator.clearPrefixCache();
    const cold = await collectText(generator, followUp, { maxTokens: 32 });
    expect(cold.finish.usage.cachedInputTokens).toBe(0);
    expect(cold.text).toBe(warm.text);
  });

  it('stops at max tokens with finish reason length', async () => {
    const result = await generator.generate({
      messages: [{ role: 'user', content: 'Write a long story about a dragon.' }],
      maxTokens: 5,
    });
    expect(result.finishReason).toBe('length');
    expect(result.usage.outputTokens).toBe(5);
  });

  it('ends at a stop string without showing it', async () => {
    const result = await generator.generate({ messages: france, maxTokens: 48, stop: ['Paris'] });
    expect(result.finishReason).toBe('stop');
    expect(result.text).not.toContain('Paris');
    expect(result.text.length).toBeGreaterThan(0);
  });

  it('samples reproducibly with a seed', async () => {
    const request = {
      messages: [{ role: 'user' as const, content: 'Tell me about cats.' }],
      maxTokens: 24,
      temperature: 1,
    };
    const a = await generator.generate({ ...request, seed: 42 });
    const b = await generator.generate({ ...request, seed: 42 });
    const c = await generator.generate({ ...request, seed: 7 });
    expect(a.text).toBe(b.text);
    expect(c.text).not.toBe(a.text);
  });

  it('reports log-probabilities of the tokens it chose', async () => {
    const result = await generator.generate({ messages: france, maxTokens: 8, logprobs: true });
    expect(result.logprobs?.length).toBeGreaterThan(0);
    for (const entry of result.logprobs ?? []) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.logprob).toBeGreaterThan(-30);
    }
  });

  it('stops promptly when aborted mid-answer', async () => {
    const controller = new AbortController();
    let deltas = 0;
    let reason: string | undefined;
    for await (const part of generator.stream({
      messages: [{ role: 'user', content: 'Write a long story about a dragon.' }],
      maxTokens: 400,
      signal: controller.signal,
    })) {
      if (part.type === 'text-delta' && ++deltas === 3) controller.abort();
      if (part.type === 'finish') reason = part.finishReason;
    }
    expect(reason).toBe('abort');
    expect(deltas).toBeLessThan(6);
  });

  it('refuses a prompt longer than the context, saying both numbers', async () => {
    const long = 'word '.repeat(9000);
    await expect(generator.generate({ messages: [{ role: 'user', content: long }] })).rejects.toSatisfy(
      (error: unknown) =>
        error instanceof ContextLengthError &&
        error.limit === 8192 &&
        error.count > 8192 &&
        /8192/.test(error.message),
    );
  });

  it('reads the chat template from tokenizer_config.json when there is no chat_template.jinja', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'shammah-model-'));
    try {
      await cp(dir, copy, {
        recursive: true,
        dereference: true,
        filter: (source) => !source.endsWith('.jinja') && !/model_(q4|int8)\.onnx$/.test(source),
      });
      const other = await Generator.load({ model: copy, variant: 'fp32' });
      try {
        expect((await other.generate({ messages: france, maxTokens: 48 })).text).toContain('Paris');
      } finally {
        await other.dispose();
      }
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});

describe('Generator loading', () => {
  it('is created at once and reports a missing model as failed, saying what to do', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'shammah-empty-cache-'));
    const generator = Generator.create({ model: 'nobody/missing-model', cacheDir });
    expect(['absent', 'loading', 'failed']).toContain(generator.status.state);
    await expect(generator.ready()).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(generator.status.state).toBe('failed');
    if (generator.status.state === 'failed')
      expect(generator.status.reason).toMatch(/shammah models pull nobody\/missing-model/);
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('loads the quantized variants too', async () => {
    const dir = await realModelDir();
    for (const variant of ['q4', 'int8']) {
      const generator = await Generator.load({ model: dir, variant });
      try {
        expect(generator.status).toMatchObject({ state: 'ready', variant });
        const result = await generator.generate({ messages: france, maxTokens: 32 });
        expect(result.text).toMatch(/Paris/);
      } finally {
        await generator.dispose();
      }
    }
  });
});
