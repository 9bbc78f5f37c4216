import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTest } from './decoder.case.test.js';
import type { Decoder } from './decoder.js';
import { DecoderSession } from './decoder-session.js';
import { readModelFiles } from './model-files.js';
import { realModelDir } from './test-support/models.js';
import { ThreadedDecoder } from './threaded-decoder.js';

runTest({ open: (path, config) => ThreadedDecoder.open(path, config) });

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama');

/** How often a 5 ms timer fires on this thread while `work` runs. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

describe('ThreadedDecoder', () => {
  it('leaves the calling thread free while a long prompt runs (the same-thread session blocks it)', async () => {
    const files = await readModelFiles(await realModelDir());
    // The fused 4-bit graph loads in well under a second; fp32 takes several.
    const path = files.variants.get('fused-q41') ?? files.variants.get('fp32')!;
    const prompt = Array.from({ length: 400 }, (_, index) => 1000 + index);
    const measure = async (decoder: Decoder) => {
      try {
        const cache = decoder.createCache(prompt.length);
        const started = performance.now();
        const ticks = await ticksDuring(() => decoder.forward(prompt, cache));
        return { ticks, ms: performance.now() - started };
      } finally {
        await decoder.release();
      }
    };
    const threaded = await measure(await ThreadedDecoder.open(path, files.config));
    const same = await measure(await DecoderSession.open(path, files.config));
    console.log(
      `400-token prompt: threaded ${threaded.ticks} timer ticks in ${threaded.ms.toFixed(0)} ms, same thread ${same.ticks} in ${same.ms.toFixed(0)} ms`,
    );
    // A free event loop fires the 5 ms timer many times during a prompt of several hundred ms.
    expect(threaded.ticks).toBeGreaterThanOrEqual(Math.min(20, Math.floor(threaded.ms / 20)));
    expect(same.ticks).toBeLessThanOrEqual(2);
  });

  describe('on the tiny model', () => {
    let decoder: ThreadedDecoder;
    beforeAll(async () => {
      const files = await readModelFiles(tiny);
      decoder = await ThreadedDecoder.open(files.variants.get('fp32')!, files.config);
    });
    afterAll(async () => {
      await decoder?.release();
    });

    it('refuses a released cache and a cache of another decoder, saying what to do', async () => {
      const cache = decoder.createCache(8);
      cache.release();
      await expect(decoder.forward([1, 2], cache)).rejects.toThrow(/released: create a new one/);
      const files = await readModelFiles(tiny);
      const other = await DecoderSession.open(files.variants.get('fp32')!, files.config);
      try {
        await expect(decoder.forward([1, 2], other.createCache(8))).rejects.toThrow(/another decoder/);
      } finally {
        await other.release();
      }
    });
  });

  it('says it was released when used afterwards', async () => {
    const files = await readModelFiles(tiny);
    const decoder = await ThreadedDecoder.open(files.variants.get('fp32')!, files.config);
    const cache = decoder.createCache(8);
    await decoder.release();
    await expect(decoder.forward([1, 2], cache)).rejects.toThrow(/released/);
    await decoder.release();
  });

  it('does not keep a program alive that never released it', async () => {
    const files = await readModelFiles(tiny);
    const entry = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href;
    const script = `
      import { ThreadedDecoder } from ${JSON.stringify(entry)};
      const decoder = await ThreadedDecoder.open(${JSON.stringify(files.variants.get('fp32'))}, ${JSON.stringify(files.config)});
      const logits = await decoder.forward([1, 2, 3], decoder.createCache(8));
      console.log('logits', logits.length);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe(`logits ${files.config.vocab_size}`);
  });
});
