import { describe, expect, it } from 'vitest';
import {
  frequencyPresencePenalty,
  type GenerationState,
  repetitionPenalty,
  suppressTokens,
  temperatureScaling,
} from './logits-processors.js';
import { argmax } from './sampler.js';

/** A state whose prompt is `prompt` and whose answer so far is `generated`. */
function stateOf(prompt: number[], generated: number[]): GenerationState {
  const counts = new Map<number, number>();
  for (const id of generated) counts.set(id, (counts.get(id) ?? 0) + 1);
  return { tokens: [...prompt, ...generated], generatedCount: generated.length, generatedCounts: counts };
}

describe('repetition penalty (Hugging Face semantics)', () => {
  it('divides positive and multiplies negative scores of every token seen in the prompt or answer, once', () => {
    const logits = Float32Array.from([4, -2, 3, 1, 0.5]);
    repetitionPenalty(2)(logits, stateOf([0, 1, 0], [1, 1]));
    expect([...logits]).toEqual([2, -4, 3, 1, 0.5]);
  });

  it('turns a greedy repeat into a fresh token', () => {
    const logits = Float32Array.from([5, 4, 1]);
    expect(argmax(logits)).toBe(0);
    repetitionPenalty(1.5)(logits, stateOf([7], [0]));
    expect(argmax(logits)).toBe(1);
  });

  it('below 1 encourages repeats', () => {
    const logits = Float32Array.from([3, 4]);
    repetitionPenalty(0.5)(logits, stateOf([0], []));
    expect(argmax(logits)).toBe(0);
  });
});

describe('frequency and presence penalties (OpenAI semantics)', () => {
  it('subtract frequency per occurrence and presence once, for answer tokens only', () => {
    const logits = Float32Array.from([10, 10, 10, 10]);
    // Token 3 is only in the prompt: untouched.
    frequencyPresencePenalty(0.5, 1)(logits, stateOf([3, 3], [0, 0, 0, 1]));
    expect([...logits]).toEqual([10 - 1.5 - 1, 10 - 0.5 - 1, 10, 10]);
  });

  it('with presence alone, every repeat costs the same', () => {
    const logits = Float32Array.from([2, 2, 2]);
    frequencyPresencePenalty(0, 0.25)(logits, stateOf([], [0, 0, 0, 1]));
    expect([...logits]).toEqual([1.75, 1.75, 2]);
  });

  it('negative values encourage repeats', () => {
    const logits = Float32Array.from([1, 2]);
    frequencyPresencePenalty(-2, 0)(logits, stateOf([], [0]));
    expect(argmax(logits)).toBe(0);
  });
});

describe('other processors', () => {
  it('suppressTokens forbids tokens outright', () => {
    const logits = Float32Array.from([9, 1, 2]);
    suppressTokens([0, 2])(logits, stateOf([], []));
    expect(logits[0]).toBe(Number.NEGATIVE_INFINITY);
    expect(logits[2]).toBe(Number.NEGATIVE_INFINITY);
    expect(argmax(logits)).toBe(1);
  });

  it('temperatureScaling divides by the temperature', () => {
    const logits = Float32Array.from([1, -2, 0.5]);
    temperatureScaling(0.5)(logits, stateOf([], []));
    expect([...logits]).toEqual([2, -4, 1]);
  });
});
