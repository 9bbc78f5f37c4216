// The fused layout (onnxruntime-genai style: GroupQueryAttention, MatMulNBits, no position_ids —
// positions come from the attention mask) runs through the same Generator as the optimum layout.
// Each variant of the tiny fused fixture is checked against PyTorch at the bar the converter set.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatMessage } from '@shammah/provider';
import { describe, expect, it } from 'vitest';
import { DecoderSession } from './decoder-session.js';
import { Generator } from './generator.js';
import { KvCache, SharedKvCache } from './kv-cache.js';
import { readModelFiles } from './model-files.js';

interface VariantBar {
  file: string;
  logits_max_abs_diff: number;
  greedy_must_match: boolean;
  top1_agreement_min?: number;
  mean_kl_max?: number;
}

interface Reference {
  prompt: { messages: ChatMessage[]; text: string; input_ids: number[] };
  logits: { shape: [number, number]; positions: number[]; values: number[][] };
  greedy: { max_new_tokens: number; with_cache: number[] };
  tolerance: { variants: Record<string, VariantBar> };
}

const dir = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama-fused');
const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
const vocab = reference.logits.shape[1];

function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - max - Math.log(sum);
  return out;
}

function compare(logits: Float32Array) {
  let maxDiff = 0;
  let agree = 0;
  let kl = 0;
  reference.logits.positions.forEach((position, row) => {
    const actual = logits.subarray(position * vocab, (position + 1) * vocab);
    const expected = reference.logits.values[row]!;
    let top = 0;
    let topExpected = 0;
    for (let i = 0; i < vocab; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
      if (actual[i]! > actual[top]!) top = i;
      if (expected[i]! > expected[topExpected]!) topExpected = i;
    }
    if (top === topExpected) agree++;
    const p = logSoftmax(expected);
    const q = logSoftmax(actual);
    for (let i = 0; i < vocab; i++) kl += Math.exp(p[i]!) * (p[i]! - q[i]!);
  });
  const count = reference.logits.positions.length;
  return { maxDiff, top1: agree / count, meanKl: kl / count };
}

describe('the fused graph layout', () => {
  for (const [name, bar] of Object.entries(reference.tolerance.variants)) {
    it(`runs ${name} within its quality bar`, async () => {
      const generator = await Generator.load({ model: dir, variant: name });
      try {
        expect(generator.status).toMatchObject({ state: 'ready', variant: name.replaceAll('_', '-') });
        const figures = compare(await generator.logits(reference.prompt.input_ids));
        if (bar.top1_agreement_min !== undefined) {
          expect(figures.top1).toBeGreaterThanOrEqual(bar.top1_agreement_min);
          expect(figures.meanKl).toBeLessThanOrEqual(bar.mean_kl_max!);
        }
        expect(figures.maxDiff).toBeLessThan(bar.logits_max_abs_diff + 1e-5);
        if (bar.greedy_must_match) {
          const tokens: number[] = [];
          for await (const event of generator.generateTokens(reference.prompt.input_ids, {
            maxTokens: reference.greedy.max_new_tokens,
            ignoreEos: true,
          })) {
            if (event.type === 'token' && event.id >= 0) tokens.push(event.id);
          }
          expect(tokens).toEqual(reference.greedy.with_cache);
        }
      } finally {
        await generator.dispose();
      }
    });
  }

  it('takes positions from the mask and gives the same logits one token at a time', async () => {
    const files = await readModelFiles(dir);
    const session = await DecoderSession.open(files.variants.get('fused-fp32')!, files.config);
    try {
      expect(session.layout.takesPositionIds).toBe(false);
      const cache = new KvCache(session.layout.kv, 2);
      const ids = reference.prompt.input_ids;
      const last = ids.length - 1;
      let logits: Float32Array | undefined;
      for (const id of ids) logits = await session.forward([id], cache);
      const row = reference.logits.positions.indexOf(last);
      const expected = reference.logits.values[row]!;
      let maxDiff = 0;
      for (let i = 0; i < vocab; i++) maxDiff = Math.max(maxDiff, Math.abs(logits![i]! - expected[i]!));
      expect(maxDiff).toBeLessThan(1e-4 + 1e-5);
    } finally {
      await session.release();
    }
  });

  it('appends to one shared KV buffer in place through the C API, and gives the same logits as the binding', async () => {
    const files = await readModelFiles(dir);
    const path = files.variants.get('fused-fp32')!;
    const direct = await DecoderSession.open(path, files.config);
    const binding = await DecoderSession.open(path, files.config, { binding: 'onnxruntime-node' });
    try {
      expect(direct.binding).toBe('c-api');
      expect(direct.layout.sharedKvBuffer).toBe(true);
      // A prompt's logits come from the last position only: the LM head runs once.
      expect(direct.layout.logitsToKeepInput).toBe('num_logits_to_keep');
      expect(binding.binding).toBe('onnxruntime-node');
      expect(binding.layout.sharedKvBuffer).toBe(false);
      const shared = direct.createCache(2);
      expect(shared).toBeInstanceOf(SharedKvCache);
      const compact = binding.createCache(2);
      expect(compact).toBeInstanceOf(KvCache);
      const ids = reference.prompt.input_ids;
      // A prompt in two pieces, then single steps past the initial capacity (the buffer grows).
      const split = Math.floor(ids.length / 2);
      const steps: Array<readonly number[]> = [ids.slice(0, split), ...ids.slice(split).map((id) => [id])];
      for (const step of steps) {
        const a = (await direct.forward(step, shared)).slice();
        const b = await binding.forward(step, compact);
        let maxDiff = 0;
        for (let i = 0; i < vocab; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
        expect(maxDiff).toBeLessThan(1e-5);
      }
      expect((shared as SharedKvCache).capacity).toBeGreaterThanOrEqual(ids.length);
      shared.release();
    } finally {
      await direct.release();
      await binding.release();
    }
  });

  it('prefers the fast fused variant on auto', async () => {
    const files = await readModelFiles(dir);
    const { chooseVariant } = await import('./model-files.js');
    expect(chooseVariant(files).variant).toBe('fused-q41');
  });
});
