// The ceiling of any ONNX Runtime loop: one decode step at a 500-token past, with nothing around
// it (inputs built once, outputs allocated by the runtime and dropped).
import * as ort from 'onnxruntime-node';
import { median, modelDir, PROMPT_TOKENS, peakRssMB, report, variantFile } from './common.js';

const variant = process.argv[2] ?? 'fp32';
const dir = await modelDir();
const started = performance.now();
const session = await ort.InferenceSession.create(`${dir}/onnx/${variantFile(variant)}`, {
  graphOptimizationLevel: 'all',
  interOpNumThreads: 1,
});
const loadMs = performance.now() - started;
const past = PROMPT_TOKENS;
const metadata = session.inputMetadata.find((input) => input.name === 'past_key_values.0.key') as {
  shape: ReadonlyArray<number | string>;
};
const heads = metadata.shape[1] as number;
const dim = metadata.shape[3] as number;
const feeds: Record<string, ort.Tensor> = {
  input_ids: new ort.Tensor('int64', BigInt64Array.of(42n), [1, 1]),
  attention_mask: new ort.Tensor('int64', new BigInt64Array(past + 1).fill(1n), [1, past + 1]),
};
for (const name of ['num_logits_to_keep', 'logits_to_keep'].filter((input) =>
  session.inputNames.includes(input),
))
  feeds[name] = new ort.Tensor('int64', BigInt64Array.of(1n), []);
if (session.inputNames.includes('position_ids'))
  feeds.position_ids = new ort.Tensor('int64', BigInt64Array.of(BigInt(past)), [1, 1]);
for (const name of session.inputNames.filter((input) => input.startsWith('past_key_values.'))) {
  feeds[name] = new ort.Tensor('float32', new Float32Array(heads * past * dim).fill(0.01), [
    1,
    heads,
    past,
    dim,
  ]);
}
const times: number[] = [];
for (let i = 0; i < 60; i++) {
  const start = performance.now();
  const outputs = await session.run(feeds);
  if (i >= 10) times.push(performance.now() - start);
  for (const value of Object.values(outputs)) value.dispose();
}
await session.release();
const stepMs = median(times);
report({ runner: 'bare session.run', variant, runs: [], peakRssMB: peakRssMB(), loadMs, stepMs });
