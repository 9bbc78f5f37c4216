// One benchmark process: Shammah's Generator on one variant.
import { Generator } from '../src/generator.js';
import {
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
const started = performance.now();
const generator = await Generator.load({ model: await modelDir(), variant, prefixCacheSize: 0 });
const loadMs = performance.now() - started;
const prompt = generator.tokenizer.encode(PROMPT_TEXT).slice(0, PROMPT_TOKENS);

async function once(maxTokens: number): Promise<RunFigures> {
  for await (const event of generator.generateTokens(prompt, { maxTokens, ignoreEos: true })) {
    if (event.type === 'done') {
      return {
        promptTokens: event.promptTokens,
        generatedTokens: event.completionTokens,
        prefillTokensPerSecond: event.timings.prefillTokensPerSecond ?? 0,
        decodeTokensPerSecond: event.timings.decodeTokensPerSecond ?? 0,
        timeToFirstTokenMs: event.timings.timeToFirstTokenMs,
      };
    }
  }
  throw new Error('generation ended without a done event');
}

await once(16);
const runs: RunFigures[] = [];
for (let i = 0; i < RUNS; i++) runs.push(await once(NEW_TOKENS));
await generator.dispose();
report({ runner: 'shammah', variant, runs, peakRssMB: peakRssMB(), loadMs });
