// The conformance suite every Decoder passes (run by decoder-session.test.ts and
// threaded-decoder.test.ts): on the tiny random-weight models, stepping through the KV cache gives
// PyTorch's logits, for both graph layouts (optimum with position_ids, and the fused GQA layout).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decoder } from './decoder.js';
import { type ModelConfig, readModelFiles } from './model-files.js';

interface Reference {
  prompt: { input_ids: number[] };
  logits: { shape: [number, number]; positions: number[]; values: number[][] };
}

const fixtures = join(import.meta.dirname, '..', 'fixtures');

function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

/** Opens a decoder on an ONNX file. */
export type OpenDecoder = (path: string, config: ModelConfig) => Promise<Decoder>;

export function runTest({ open, name }: { open: OpenDecoder; name?: string }): void {
  for (const [fixture, variant] of [
    ['tiny-llama', 'fp32'],
    ['tiny-llama-fused', 'fused-fp32'],
    ['tiny-qwen2', 'fp32'],
  ] as const) {
    describe(`decoder conformance on ${fixture} (${variant})${name ? `, ${name}` : ''}`, () => {
      const dir = join(fixtures, fixture);
      const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
      const ids = reference.prompt.input_ids;
      const vocab = reference.logits.shape[1];
      // The reference rounds logits to 5 decimals; allow for that on top of the exporter's bar.
      const tolerance = 1e-4 + 1e-5;
      let decoder: Decoder;

      beforeAll(async () => {
        const files = await readModelFiles(dir);
        const path = files.variants.get(variant);
        if (!path) throw new Error(`${fixture} has no ${variant} variant: run pnpm models:dev`);
        decoder = await open(path, files.config);
      });
      afterAll(async () => {
        await decoder?.release();
      });

      it('gives the PyTorch logits one token at a time, growing a small cache on the way', async () => {
        const cache = decoder.createCache(4);
        for (let position = 0; position < ids.length; position++) {
          const logits = await decoder.forward([ids[position]!], cache);
          expect(logits).toHaveLength(vocab);
          expect(
            maxDifference(logits, reference.logits.values[position]!),
            `position ${position}`,
          ).toBeLessThan(tolerance);
        }
        expect(cache.length).toBe(ids.length);
        cache.release();
      });

      it('returns every row in one pass, and the last row alone when asked for less', async () => {
        const all = decoder.createCache(ids.length);
        const rows = await decoder.forward(ids, all, true);
        expect(rows).toHaveLength(ids.length * vocab);
        reference.logits.positions.forEach((position, row) => {
          expect(
            maxDifference(
              rows.subarray(position * vocab, (position + 1) * vocab),
              reference.logits.values[row]!,
            ),
          ).toBeLessThan(tolerance);
        });
        const last = decoder.createCache(ids.length);
        const lastRow = await decoder.forward(ids, last);
        expect(lastRow).toHaveLength(vocab);
        expect(maxDifference(lastRow, reference.logits.values.at(-1)!)).toBeLessThan(tolerance);
        all.release();
        last.release();
      });

      it('reuses a truncated prefix: feeding the rest again gives the same logits', async () => {
        const cache = decoder.createCache(8);
        await decoder.forward(ids, cache);
        const keep = Math.floor(ids.length / 2);
        cache.truncate(keep);
        expect(cache.length).toBe(keep);
        const logits = await decoder.forward(ids.slice(keep), cache);
        expect(cache.length).toBe(ids.length);
        expect(maxDifference(logits, reference.logits.values.at(-1)!)).toBeLessThan(tolerance);
        cache.release();
      });

      it('keeps two sequences apart when their steps interleave', async () => {
        const first = decoder.createCache(4);
        const second = decoder.createCache(4);
        const split = 5;
        await decoder.forward(ids.slice(0, split), first);
        // The second sequence starts from a different token, so a shared cache would show.
        await decoder.forward([ids[1]!, ids[0]!], second);
        const rest = (await decoder.forward(ids.slice(split), first)).slice();
        expect(first.length).toBe(ids.length);
        expect(second.length).toBe(2);
        expect(maxDifference(rest, reference.logits.values.at(-1)!)).toBeLessThan(tolerance);
        first.release();
        second.release();
      });
    });
  }
}
