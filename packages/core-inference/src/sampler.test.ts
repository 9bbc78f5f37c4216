import { describe, expect, it } from 'vitest';
import { argmax, logSoftmaxAt, SeededRandom, sample } from './sampler.js';

const logits = () => Float32Array.from([1, 5, 3, 4.9, -2, 0]);

describe('sampling', () => {
  it('is reproducible with a seed and varies without one', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 50 },
        (
          (random) => () =>
            sample(logits(), {}, random)
        )(new SeededRandom(seed)),
      );
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('top-k 1 is greedy', () => {
    const random = new SeededRandom(1);
    for (let i = 0; i < 20; i++) expect(sample(logits(), { topK: 1 }, random)).toBe(argmax(logits()));
  });

  it('top-p keeps only the nucleus', () => {
    const random = new SeededRandom(3);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(sample(logits(), { topP: 0.8 }, random));
    // Tokens 1 (5.0) and 3 (4.9) hold ~0.8 of the mass together with 2 (3.0); 4 and 5 never appear.
    expect(seen.has(4)).toBe(false);
    expect(seen.has(5)).toBe(false);
    expect(seen.has(1) && seen.has(3)).toBe(true);
  });

  it('min-p drops tokens far below the best', () => {
    const random = new SeededRandom(4);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(sample(logits(), { minP: 0.5 }, random));
    expect([...seen].sort()).toEqual([1, 3]);
  });

  it('draws in proportion to the probabilities', () => {
    const random = new SeededRandom(5);
    const two = Float32Array.from([Math.log(3), 0]);
    let first = 0;
    for (let i = 0; i < 4000; i++) if (sample(two, {}, random) === 0) first++;
    expect(first / 4000).toBeGreaterThan(0.72);
    expect(first / 4000).toBeLessThan(0.78);
  });

  it('computes log-softmax', () => {
    const values = Float32Array.from([0, 0]);
    expect(logSoftmaxAt(values, 1)).toBeCloseTo(Math.log(0.5), 6);
  });
});
