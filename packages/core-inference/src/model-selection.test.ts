import { describe, expect, it } from 'vitest';
import { recommendModel } from './model-selection.js';

const GB = 1024 ** 3;

describe('recommendModel', () => {
  it('follows the RAM ladder', () => {
    expect(recommendModel(2 * GB).repoId).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(recommendModel(4 * GB).parameters).toBe('0.5B');
    expect(recommendModel(7.6 * GB).parameters).toBe('1.5B');
    expect(recommendModel(15.5 * GB).parameters).toBe('3B');
    expect(recommendModel(24 * GB).parameters).toBe('3B');
    expect(recommendModel(31 * GB).parameters).toBe('7B');
    expect(recommendModel(128 * GB).parameters).toBe('14B');
  });
});
