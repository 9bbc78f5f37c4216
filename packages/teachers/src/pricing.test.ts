import { describe, expect, test } from 'vitest';
import { capabilitiesFor, findModel } from './model-catalog.js';
import { CostTracker, costOf, priceFor } from './pricing.js';

describe('costOf', () => {
  test('prices input and output per million tokens, cached input at its own price', () => {
    expect(
      costOf({ inputTokens: 1_000_000, outputTokens: 1_000_000 }, 'claude-sonnet-5-5', {}, 'anthropic'),
    ).toBe(12);
    expect(
      costOf(
        { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 500_000 },
        'gpt-4.1-2025-04-14',
        {},
        'openai',
      ),
    ).toBeCloseTo(0.5 * 2 + 0.5 * 0.5);
  });

  test('an override wins, and an unknown model has no price', () => {
    const overrides = { 'my-model': { input: 1, output: 2 } };
    expect(costOf({ inputTokens: 2_000_000, outputTokens: 1_000_000 }, 'my-model', overrides)).toBe(4);
    expect(costOf({ inputTokens: 10, outputTokens: 10 }, 'mystery-model-7b')).toBeUndefined();
    expect(priceFor('gpt-4o-mini', { 'gpt-4o': { input: 9, output: 9 } }, 'openai')).toEqual({
      input: 0.15,
      output: 0.6,
      cachedInput: 0.075,
    });
  });

  test('the tracker keeps a running total and counts unpriced requests', () => {
    const tracker = new CostTracker('openai');
    tracker.add({ inputTokens: 1_000_000, outputTokens: 0 }, 'gpt-4.1');
    tracker.add({ inputTokens: 0, outputTokens: 1_000_000 }, 'gpt-4.1');
    tracker.add({ inputTokens: 5, outputTokens: 5 }, 'unknown');
    expect(tracker.totals).toEqual({
      requests: 3,
      inputTokens: 1_000_005,
      outputTokens: 1_000_005,
      cachedInputTokens: 0,
      costUsd: 10,
      unpricedRequests: 1,
    });
  });
});

describe('model catalog', () => {
  test('dated ids find their model, the longest prefix wins, unknown models get the provider defaults', () => {
    expect(findModel('openai', 'gpt-4.1-mini-2025-04-14')?.id).toBe('gpt-4.1-mini');
    expect(findModel('anthropic', 'claude-sonnet-4-5-20250929')?.id).toBe('claude-sonnet-4-5');
    expect(capabilitiesFor('gemini', 'gemini-2.5-pro').contextLength).toBe(1_048_576);
    expect(capabilitiesFor('openai-compatible', 'qwen2.5-coder:7b')).toMatchObject({
      contextLength: 8_192,
      tools: true,
    });
    expect(
      capabilitiesFor('openai-compatible', 'qwen2.5-coder:7b', { contextLength: 32_768 }).contextLength,
    ).toBe(32_768);
  });
});
