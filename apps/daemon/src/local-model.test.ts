import { describe, expect, it } from 'vitest';
import { kvBytesPerToken, prefixCacheSizeFor } from './local-model.js';

// SmolLM2-135M-Instruct's config.json.
const smolLM2 = { num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, head_dim: 64 };

describe('prefix cache sizing', () => {
  it('counts the bytes a token takes in the KV cache (keys and values, float32, two buffer sets)', () => {
    expect(kvBytesPerToken(smolLM2)).toBe(2 * 30 * 3 * 64 * 4 * 2);
    // Without head_dim, it is hidden_size / heads.
    expect(kvBytesPerToken({ num_hidden_layers: 2, num_attention_heads: 4, hidden_size: 256 })).toBe(
      2 * 2 * 4 * 64 * 4 * 2,
    );
  });

  it('keeps one cache per session, as many as fit in the memory bound, at least one', () => {
    const bytesPerToken = kvBytesPerToken(smolLM2);
    expect(prefixCacheSizeFor({ maxSessions: 100, bytesPerToken, memoryBytes: 8 * 1024 ** 3 })).toBe(45);
    expect(prefixCacheSizeFor({ maxSessions: 10, bytesPerToken, memoryBytes: 8 * 1024 ** 3 })).toBe(10);
    expect(prefixCacheSizeFor({ maxSessions: 100, bytesPerToken, memoryBytes: 1024 })).toBe(1);
  });
});
