// One benchmark process: transformers.js generating from the same ONNX files.
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, TextStreamer } from '@huggingface/transformers';
import {
  MODEL,
  modelDir,
  NEW_TOKENS,
  PROMPT_TEXT,
  PROMPT_TOKENS,
  peakRssMB,
  RUNS,
  type RunFigures,
  report,
} from './common.js';

const variant = process.argv[2] ?? 'fp32';
// transformers.js reads local models from {localModelPath}/{model id}/.
const root = await mkdtemp(join(tmpdir(), 'shammah-tjs-'));
await mkdir(join(root, MODEL.split('/')[0]!), { recursive: true });
await symlink(await modelDir(), join(root, MODEL));
env.localModelPath = root;
env.allowRemoteModels = false;

const started = performance.now();
const tokenizer = await AutoTokenizer.from_pretrained(MODEL);
const model = await AutoModelForCausalLM.from_pretrained(MODEL, {
  dtype: variant as 'fp32' | 'q4' | 'int8',
  device: 'cpu',
});
const loadMs = performance.now() - started;
const ids = (tokenizer.encode(PROMPT_TEXT) as number[]).slice(0, PROMPT_TOKENS);

async function once(maxTokens: number): Promise<RunFigures> {
  const { Tensor } = await import('@huggingface/transformers');
  const input_ids = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  let first = 0;
  let count = 0;
  const streamer = new (class extends TextStreamer {
    override put(value: bigint[][]) {
      count++;
      if (count === 2) first = performance.now(); // the first call carries the prompt
      super.put(value);
    }
  })(tokenizer, { skip_prompt: true, callback_function: () => {} });
  const start = performance.now();
  await model.generate({
    input_ids,
    attention_mask,
    max_new_tokens: maxTokens,
    min_new_tokens: maxTokens,
    do_sample: false,
    streamer,
  });
  const end = performance.now();
  const generated = count - 1;
  return {
    promptTokens: ids.length,
    generatedTokens: generated,
    prefillTokensPerSecond: (ids.length / (first - start)) * 1000,
    decodeTokensPerSecond: ((generated - 1) / (end - first)) * 1000,
    timeToFirstTokenMs: first - start,
  };
}

await once(16);
const runs: RunFigures[] = [];
for (let i = 0; i < RUNS; i++) runs.push(await once(NEW_TOKENS));
report({ runner: 'transformers.js', variant, runs, peakRssMB: peakRssMB(), loadMs });
