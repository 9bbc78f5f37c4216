// Decoding several sequences in one run: the slab's batched step gives each sequence the logits it
// gets when stepped on its own, whatever the other slots hold, and a sequence that outgrows its
// slot leaves the batch without losing anything.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecoderSession } from './decoder-session.js';
import { Generator } from './generator.js';
import type { SharedKvCache } from './kv-cache.js';
import { readModelFiles } from './model-files.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama-fused');

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('batched decoding on the fused layout', () => {
  let batched: DecoderSession;
  let single: DecoderSession;
  const prompts = [
    [1, 5, 9, 13, 17, 21, 25],
    [2, 40, 41],
    [3, 7, 11, 60, 61, 62, 63, 64, 65, 66, 67],
  ];

  beforeAll(async () => {
    const files = await readModelFiles(dir);
    const path = files.variants.get('fused-fp32')!;
    batched = await DecoderSession.open(path, files.config, { batching: { slots: 4, slotCapacity: 16 } });
    single = await DecoderSession.open(path, files.config);
  });
  afterAll(async () => {
    await batched?.release();
    await single?.release();
  });

  it('steps sequences of different lengths in one run with the logits each gets alone', async () => {
    expect(batched.batchSlots).toBe(4);
    const caches = prompts.map(() => batched.createCache(8) as SharedKvCache);
    const references = prompts.map(() => single.createCache(8));
    // A fourth slot holds a sequence that does not step: the batch must leave it intact.
    const bystander = batched.createCache(8) as SharedKvCache;
    await batched.forward([4, 4, 4], bystander);
    for (const cache of caches) expect(cache.slot?.index).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < prompts.length; i++) {
      await batched.forward(prompts[i]!, caches[i]!);
      await single.forward(prompts[i]!, references[i]!);
    }
    const runsBefore = batched.batchedRuns;
    let next = [70, 71, 72];
    for (let step = 0; step < 4; step++) {
      const logits = await batched.forwardEach(next.map((id, i) => ({ id, cache: caches[i]! })));
      for (let i = 0; i < prompts.length; i++) {
        const alone = await single.forward([next[i]!], references[i]!);
        expect(maxDifference(logits[i]!, alone), `sequence ${i}, step ${step}`).toBeLessThan(1e-4);
        expect(caches[i]!.length).toBe(prompts[i]!.length + step + 1);
      }
      next = next.map((id) => id + 3);
    }
    expect(batched.batchedRuns - runsBefore).toBe(4);
    // The bystander continues as if nothing had run beside it.
    const reference = single.createCache(8);
    await single.forward([4, 4, 4], reference);
    expect(
      maxDifference(await batched.forward([9], bystander), await single.forward([9], reference)),
    ).toBeLessThan(1e-4);
    for (const cache of [...caches, bystander]) cache.release();
  });

  it('frees the slot of an idle cache for another sequence, and takes one again for its next turn', async () => {
    const idle = batched.createCache(8) as SharedKvCache;
    const reference = single.createCache(8);
    await batched.forward([5, 6, 7], idle);
    await single.forward([5, 6, 7], reference);
    const others = [1, 2, 3].map(() => batched.createCache(8) as SharedKvCache);
    expect(others.every((cache) => cache.slot)).toBe(true);
    // All four slots are taken: a fifth sequence would run outside the batch…
    const fifth = batched.createCache(8) as SharedKvCache;
    expect(fifth.slot).toBeUndefined();
    fifth.release();
    // …until the idle cache gives its slot back, keeping its rows.
    batched.setBatching(idle, false);
    expect(idle.slot).toBeUndefined();
    const sixth = batched.createCache(8) as SharedKvCache;
    expect(sixth.slot).toBeDefined();
    sixth.release();
    expect(
      maxDifference(await batched.forward([8], idle), await single.forward([8], reference)),
    ).toBeLessThan(1e-4);
    batched.setBatching(idle, true);
    expect(idle.slot).toBeDefined();
    expect(
      maxDifference(await batched.forward([9], idle), await single.forward([9], reference)),
    ).toBeLessThan(1e-4);
    for (const cache of [idle, ...others]) cache.release();
  });

  it('moves a sequence that outgrows its slot to buffers of its own, keeping what it held', async () => {
    const cache = batched.createCache(8) as SharedKvCache;
    const reference = single.createCache(8);
    const prompt = Array.from({ length: 14 }, (_, i) => 10 + i);
    await batched.forward(prompt, cache);
    await single.forward(prompt, reference);
    expect(cache.slot).toBeDefined();
    for (let step = 0; step < 5; step++) {
      const [logits] = await batched.forwardEach([{ id: 30 + step, cache }]);
      const alone = await single.forward([30 + step], reference);
      expect(maxDifference(logits!, alone)).toBeLessThan(1e-4);
    }
    expect(cache.length).toBe(19);
    expect(cache.slot).toBeUndefined();
    cache.release();
  });
});

describe('Generator with batchSize', () => {
  it('answers concurrent requests with the tokens each gets alone (threaded and same-thread)', async () => {
    const prompts = [
      [1, 5, 9, 13, 17],
      [2, 40, 41, 42, 43, 44, 45, 46, 47],
      [3, 7],
    ];
    const greedy = async (generator: Generator, prompt: number[]) => {
      const ids: number[] = [];
      for await (const event of generator.generateTokens(prompt, { maxTokens: 12, ignoreEos: true }))
        if (event.type === 'token') ids.push(event.id);
      return ids;
    };
    const alone = await Generator.load({ model: dir, variant: 'fused-fp32' });
    const expected: number[][] = [];
    for (const prompt of prompts) expected.push(await greedy(alone, prompt));
    await alone.dispose();
    for (const sessionThread of [true, false]) {
      const together = await Generator.load({
        model: dir,
        variant: 'fused-fp32',
        batchSize: 3,
        sessionThread,
      });
      try {
        const answers = await Promise.all(prompts.map((prompt) => greedy(together, prompt)));
        expect(answers).toEqual(expected);
      } finally {
        await together.dispose();
      }
    }
  });
});
