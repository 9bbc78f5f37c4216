// The ceiling of Shammah's loop: one decode step at a 500-token past through the C API, with every
// input and output bound once and nothing else around it. The KV cache is laid out as the Generator
// lays it out: one shared past/present buffer for GroupQueryAttention graphs, else a compact past
// and a pre-allocated present.
import { usesGroupQueryAttention } from '../src/decoder-session.js';
import { createTensor, openSession, type RuntimeTensor } from '../src/onnx-runtime.js';
import { median, modelDir, PROMPT_TOKENS, peakRssMB, report, variantFile } from './common.js';

const variant = process.argv[2] ?? 'fp32';
const path = `${await modelDir()}/onnx/${variantFile(variant)}`;
const started = performance.now();
const session = await openSession(path);
const loadMs = performance.now() - started;
if (session.binding !== 'c-api') throw new Error('The C API did not load on this machine.');
const past = PROMPT_TOKENS;
const capacity = 1024;
const pastInputs = session.inputs.filter((input) => input.name.startsWith('past_key_values.'));
const heads = pastInputs[0]!.shape[1] as number;
const dim = pastInputs[0]!.shape[3] as number;
const vocab = session.outputs.find((output) => output.name === 'logits')!.shape[2] as number;
const takesPositions = session.inputs.some((input) => input.name === 'position_ids');
const shared = !takesPositions && (await usesGroupQueryAttention(path));
const feeds: Record<string, RuntimeTensor> = {
  input_ids: createTensor('int64', BigInt64Array.of(42n), [1, 1], true),
  attention_mask: createTensor('int64', new BigInt64Array(past + 1).fill(1n), [1, past + 1], true),
};
for (const input of session.inputs.filter((entry) => /^(num_)?logits_to_keep$/.test(entry.name)))
  feeds[input.name] = createTensor('int64', BigInt64Array.of(1n), [], true);
if (takesPositions) feeds.position_ids = createTensor('int64', BigInt64Array.of(BigInt(past)), [1, 1], true);
const fetches: Record<string, RuntimeTensor> = {
  logits: createTensor('float32', new Float32Array(vocab), [1, 1, vocab], true),
};
for (const input of pastInputs) {
  const present = input.name.replace('past_key_values.', 'present.');
  if (shared) {
    const buffer = createTensor(
      'float32',
      new Float32Array(heads * capacity * dim).fill(0.01),
      [1, heads, capacity, dim],
      true,
    );
    feeds[input.name] = buffer;
    fetches[present] = buffer;
  } else {
    feeds[input.name] = createTensor(
      'float32',
      new Float32Array(heads * past * dim).fill(0.01),
      [1, heads, past, dim],
      true,
    );
    fetches[present] = createTensor(
      'float32',
      new Float32Array(heads * (past + 1) * dim),
      [1, heads, past + 1, dim],
      true,
    );
  }
}
const times: number[] = [];
for (let i = 0; i < 60; i++) {
  const start = performance.now();
  await session.run(feeds, fetches);
  if (i >= 10) times.push(performance.now() - start);
}
await session.release();
report({
  runner: `bare step (C API${shared ? ', shared KV buffer' : ''})`,
  variant,
  runs: [],
  peakRssMB: peakRssMB(),
  loadMs,
  stepMs: median(times),
});
