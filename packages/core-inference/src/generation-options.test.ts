import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenerationOptions, planSampling } from './generation-options.js';
import { Generator } from './generator.js';
import type { GenerationState } from './logits-processors.js';
import type { GenerationConfig } from './model-files.js';
import { argmax } from './sampler.js';

const empty: GenerationState = { tokens: [], generatedCount: 0, generatedCounts: new Map() };

/** The scores a plan's processors leave, for a state. */
function run(
  options: GenerationOptions,
  defaults: GenerationConfig,
  logits: number[],
  state = empty,
): number[] {
  const values = Float32Array.from(logits);
  for (const processor of planSampling(options, defaults).processors) processor(values, state);
  return [...values];
}

describe('planSampling', () => {
  it('is greedy with no processors when neither the request nor the model asks for sampling', () => {
    expect(planSampling({}, {})).toEqual({ processors: [], greedy: true });
    // A model that declares sampling parameters without do_sample stays greedy, as in transformers.
    expect(planSampling({}, { temperature: 0.6, top_k: 20, top_p: 0.9 })).toEqual({
      processors: [],
      greedy: true,
    });
  });

  it("samples with the model's generation_config when it says do_sample", () => {
    const plan = planSampling({}, { do_sample: true, temperature: 0.5, top_k: 20, top_p: 0.9 });
    expect(plan).toMatchObject({ greedy: false, topK: 20, topP: 0.9 });
    expect(run({}, { do_sample: true, temperature: 0.5 }, [1, -1])).toEqual([2, -2]);
  });

  it("lets the request override the model's settings", () => {
    const defaults = { do_sample: true, temperature: 0.5, top_k: 20, top_p: 0.9 };
    expect(planSampling({ temperature: 0 }, defaults).greedy).toBe(true);
    expect(planSampling({ topK: 3, topP: 0.5, minP: 0.1 }, defaults)).toMatchObject({
      greedy: false,
      topK: 3,
      topP: 0.5,
      minP: 0.1,
    });
    // Temperature 1 needs no scaling.
    expect(run({ temperature: 1 }, {}, [1, -1])).toEqual([1, -1]);
    expect(planSampling({ temperature: 0.7 }, {})).toMatchObject({ greedy: false });
    expect(planSampling({ temperature: 0.7 }, {}).topK).toBeUndefined();
  });

  it("applies the model's repetition_penalty even when greedy, unless the request sets it to 1", () => {
    const state: GenerationState = { tokens: [0], generatedCount: 0, generatedCounts: new Map() };
    expect(run({}, { repetition_penalty: 2 }, [4, 3], state)).toEqual([2, 3]);
    expect(run({ repetitionPenalty: 1 }, { repetition_penalty: 2 }, [4, 3], state)).toEqual([4, 3]);
    expect(run({ repetitionPenalty: 4 }, {}, [4, 3], state)).toEqual([1, 3]);
  });

  it('adds frequency and presence penalties before temperature scaling', () => {
    const state: GenerationState = { tokens: [1, 1], generatedCount: 2, generatedCounts: new Map([[1, 2]]) };
    expect(run({ frequencyPenalty: 0.5, presencePenalty: 1 }, {}, [3, 3], state)).toEqual([3, 1]);
    expect(run({ presencePenalty: 1, temperature: 0.5 }, {}, [3, 3], state)).toEqual([6, 4]);
    expect(planSampling({ frequencyPenalty: 0, presencePenalty: 0 }, {}).processors).toHaveLength(0);
  });
});

describe('penalties and stop token ids through the Generator on tiny-llama', () => {
  const dir = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama');
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
    prompt: { input_ids: number[] };
    greedy: { with_cache: number[] };
  };
  const prompt = reference.prompt.input_ids;
  let generator: Generator;

  beforeAll(async () => {
    generator = await Generator.load({ model: dir, variant: 'fp32' });
  });
  afterAll(async () => {
    await generator?.dispose();
  });

  async function tokens(options: GenerationOptions) {
    const ids: number[] = [];
    let done: { finishReason: string; completionTokens: number } | undefined;
    for await (const event of generator.generateTokens(prompt, { ignoreEos: true, ...options })) {
      if (event.type === 'token' && event.id >= 0) ids.push(event.id);
      if (event.type === 'done') done = event;
    }
    return { ids, done: done! };
  }

  it("greedy decoding gives PyTorch's tokens, repeats included", async () => {
    const { ids, done } = await tokens({ maxTokens: 16 });
    expect(ids).toEqual(reference.greedy.with_cache);
    expect(new Set(ids).size).toBeLessThan(ids.length);
    expect(done.finishReason).toBe('length');
  });

  it('stops at a stop token id, which is not part of the answer', async () => {
    const greedy = reference.greedy.with_cache;
    const stop = greedy[3]!;
    const { ids, done } = await tokens({ maxTokens: 16, stopTokenIds: [stop] });
    expect(ids).toEqual(greedy.slice(0, greedy.indexOf(stop)));
    expect(done.finishReason).toBe('stop');
    expect(done.completionTokens).toBe(greedy.indexOf(stop) + 1);
    // Stop ids hold even when the model's own end-of-turn ids are ignored.
    const later = await tokens({ maxTokens: 16, stopTokenIds: [greedy[5]!] });
    expect(later.ids).toEqual(greedy.slice(0, 5));
  });

  it('a large frequency or presence penalty never repeats a token of the answer', async () => {
    for (const options of [{ frequencyPenalty: 100 }, { presencePenalty: 100 }]) {
      const { ids } = await tokens({ maxTokens: 16, ...options });
      expect(ids, JSON.stringify(options)).toHaveLength(16);
      expect(new Set(ids).size, JSON.stringify(options)).toBe(16);
    }
  });

  it('with a repetition penalty, each token is the argmax of the logits penalized over prompt and answer', async () => {
    const { ids } = await tokens({ maxTokens: 12, repetitionPenalty: 3 });
    expect(ids).not.toEqual(reference.greedy.with_cache.slice(0, 12));
    for (let step = 0; step < ids.length; step++) {
      const context = [...prompt, ...ids.slice(0, step)];
      const all = await generator.logits(context);
      const last = all.slice(all.length - all.length / context.length);
      const seen = new Set(context);
      const penalized = last.map((value, id) => (seen.has(id) ? (value > 0 ? value / 3 : value * 3) : value));
      expect(ids[step], `step ${step}`).toBe(argmax(penalized));
    }
  });
});
