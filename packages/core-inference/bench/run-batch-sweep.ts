// Batched decoding: aggregate decode tokens/s when 1, 2, 4, 8 and 16 sequences step together
// (each holding a 500-token past), through DecoderSession.forwardEach — what the daemon's batching
// can reach at best, and the largest batch that still helps.
import { DecoderSession } from '../src/decoder-session.js';
import type { SharedKvCache } from '../src/kv-cache.js';
import { readModelFiles } from '../src/model-files.js';
import { median, modelDir, PROMPT_TOKENS, peakRssMB, variantFile } from './common.js';

const variant = process.argv[2] ?? 'fused-q41';
const sizes = [1, 2, 4, 8, 16];
const STEPS = 24;
const dir = await modelDir();
const files = await readModelFiles(dir);
const session = await DecoderSession.open(`${dir}/onnx/${variantFile(variant)}`, files.config, {
  batching: { slots: Math.max(...sizes), slotCapacity: 1024 },
});
if (session.batchSlots <= 1)
  throw new Error(`${variant} cannot batch (not a GroupQueryAttention graph on the C API).`);
const prompt = Array.from({ length: PROMPT_TOKENS }, (_, index) => 100 + (index % 5000));
const results: Array<{ batch: number; stepMs: number; tokensPerSecond: number }> = [];
for (const batch of sizes) {
  const caches = Array.from(
    { length: batch },
    () => session.createCache(PROMPT_TOKENS + STEPS + 8) as SharedKvCache,
  );
  for (const cache of caches) await session.forward(prompt, cache);
  const times: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const start = performance.now();
    await session.forwardEach(caches.map((cache, index) => ({ id: 200 + index + step, cache })));
    if (step >= 4) times.push(performance.now() - start);
  }
  for (const cache of caches) cache.release();
  const stepMs = median(times);
  results.push({ batch, stepMs, tokensPerSecond: (batch * 1000) / stepMs });
  console.error(
    `batch ${batch}: ${stepMs.toFixed(1)} ms a step, ${((batch * 1000) / stepMs).toFixed(1)} tok/s`,
  );
}
await session.release();
process.stdout.write(
  `${JSON.stringify({ runner: 'batch sweep', variant, results, peakRssMB: peakRssMB() })}\n`,
);
