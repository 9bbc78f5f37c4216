// One benchmark process: node-llama-cpp (prebuilt llama.cpp binaries for Node) on the GGUF the
// development model was converted from. Installed by scripts/install-bench-peers.sh, outside the
// workspace (its optional GPU binaries weigh ~600 MB), and loaded from there.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  ggufPath,
  NEW_TOKENS,
  PROMPT_TEXT,
  PROMPT_TOKENS,
  peakRssMB,
  RUNS,
  type RunFigures,
  report,
} from './common.js';

const threads = Number(process.argv[2] ?? 2);
const peers = join(import.meta.dirname, '..', '..', '..', '.tools', 'bench-peers');
const require = createRequire(join(peers, 'package.json'));
// Typed loosely: the package is not a dependency of the workspace.
interface LlamaSequence {
  evaluate(tokens: number[], options: { temperature: number }): AsyncIterable<number>;
  dispose(): void;
}
interface NodeLlamaCpp {
  getLlama(options: object): Promise<{
    loadModel(options: { modelPath: string }): Promise<{
      tokenize(text: string): number[];
      createContext(options: object): Promise<{ getSequence(): LlamaSequence; dispose(): Promise<void> }>;
      dispose(): Promise<void>;
    }>;
  }>;
  LlamaLogLevel: { error: unknown };
}
const { getLlama, LlamaLogLevel } = (await import(require.resolve('node-llama-cpp'))) as NodeLlamaCpp;

const started = performance.now();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: await ggufPath() });
const context = await model.createContext({ contextSize: 1024, threads, batchSize: 512 });
const loadMs = performance.now() - started;
const prompt = model.tokenize(PROMPT_TEXT).slice(0, PROMPT_TOKENS);

async function once(maxTokens: number): Promise<RunFigures> {
  const sequence = context.getSequence();
  try {
    const start = performance.now();
    let first = 0;
    let count = 0;
    for await (const _token of sequence.evaluate(prompt, { temperature: 0 })) {
      count++;
      if (count === 1) first = performance.now();
      if (count >= maxTokens) break;
    }
    const end = performance.now();
    return {
      promptTokens: prompt.length,
      generatedTokens: count,
      prefillTokensPerSecond: prompt.length / ((first - start) / 1000),
      decodeTokensPerSecond: (count - 1) / ((end - first) / 1000),
      timeToFirstTokenMs: first - start,
    };
  } finally {
    sequence.dispose();
  }
}

await once(16);
const runs: RunFigures[] = [];
for (let i = 0; i < RUNS; i++) runs.push(await once(NEW_TOKENS));
await context.dispose();
await model.dispose();
report({
  runner: 'node-llama-cpp',
  variant: `gguf-q4_1 (${threads} threads)`,
  runs,
  peakRssMB: peakRssMB(),
  loadMs,
});
