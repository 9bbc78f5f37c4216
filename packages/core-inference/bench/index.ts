// pnpm bench: Shammah's Generator against transformers.js on the same ONNX files, and against the
// bare session.run step (the ceiling of any ONNX Runtime loop). Every runner is its own process,
// so peak memory is its own; runners go one after another so they never share the cores.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  median,
  modelDir,
  NEW_TOKENS,
  PROMPT_TOKENS,
  RUNS,
  type RunnerReport,
  variantFile,
} from './common.js';

const run = promisify(execFile);
const here = import.meta.dirname;
const docs = join(here, '..', '..', '..', 'docs', 'bench');

async function runner(script: string, variant: string): Promise<RunnerReport> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(here, script), variant], {
    cwd: join(here, '..'),
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunnerReport;
}

const dir = await modelDir();
const present = new Set(await readdir(join(dir, 'onnx')));
const variants = ['fused-q41', 'fused-q41-exact', 'fused-fp32', 'q4', 'int8', 'fp32'].filter((variant) =>
  present.has(variantFile(variant)),
);
/** transformers.js reads only the standard file names. */
const transformersVariants = new Set(['fp32', 'q4', 'int8']);
const manifest = JSON.parse(readFileSync(join(dir, 'shammah_manifest.json'), 'utf8')) as {
  variants: Record<string, { quality?: { top1_agreement: number; mean_kl: number; passed: boolean } }>;
};
const rows: Array<Record<string, string | number>> = [];
const results: Record<string, unknown> = {};

for (const variant of variants) {
  const bare = await runner('run-bare-step.ts', variant);
  const shammah = await runner('run-generator.ts', variant);
  const tjs = transformersVariants.has(variant) ? await runner('run-transformers.ts', variant) : undefined;
  const quality = manifest.variants[variant.replaceAll('-', '_')]?.quality;
  const summary = (report: RunnerReport) => ({
    prefillTokensPerSecond: median(report.runs.map((r) => r.prefillTokensPerSecond)),
    decodeTokensPerSecond: median(report.runs.map((r) => r.decodeTokensPerSecond)),
    timeToFirstTokenMs: median(report.runs.map((r) => r.timeToFirstTokenMs)),
    peakRssMB: report.peakRssMB,
  });
  const ours = summary(shammah);
  const theirs = tjs ? summary(tjs) : undefined;
  const ceiling = 1000 / bare.stepMs!;
  results[variant] = {
    quality,
    shammah: { ...ours, runs: shammah.runs },
    ...(tjs && theirs ? { transformersJs: { ...theirs, runs: tjs.runs } } : {}),
    bareStep: { stepMs: bare.stepMs, tokensPerSecond: ceiling },
  };
  rows.push({
    variant,
    quality: quality
      ? `top-1 ${(quality.top1_agreement * 100).toFixed(1)}%, KL ${quality.mean_kl.toFixed(4)}${quality.passed ? '' : ' (fails the bar)'}`
      : 'not measured',
    'Shammah prefill tok/s': ours.prefillTokensPerSecond.toFixed(0),
    'Shammah decode tok/s': ours.decodeTokensPerSecond.toFixed(1),
    'Shammah TTFT ms': ours.timeToFirstTokenMs.toFixed(0),
    'Shammah peak RSS MB': ours.peakRssMB,
    'transformers.js decode tok/s': theirs ? theirs.decodeTokensPerSecond.toFixed(1) : 'cannot run',
    'transformers.js prefill tok/s': theirs ? theirs.prefillTokensPerSecond.toFixed(0) : '',
    'transformers.js peak RSS MB': theirs ? theirs.peakRssMB : '',
    'decode vs transformers.js': theirs
      ? `${(ours.decodeTokensPerSecond / theirs.decodeTokensPerSecond).toFixed(2)}×`
      : '',
    'bare step tok/s': ceiling.toFixed(1),
    'decode vs bare step': `${((ours.decodeTokensPerSecond / ceiling) * 100).toFixed(0)}%`,
  });
  console.log(rows.at(-1));
}

const cpuModel =
  /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
const ortVersion = JSON.parse(
  readFileSync(join(here, '..', 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
).version as string;
const machine = {
  cpu: cpuModel,
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  onnxruntimeNode: ortVersion,
  date: new Date().toISOString(),
};
await mkdir(docs, { recursive: true });
await writeFile(
  join(docs, 'core-inference.json'),
  `${JSON.stringify({ machine, promptTokens: PROMPT_TOKENS, newTokens: NEW_TOKENS, runs: RUNS, results }, null, 2)}\n`,
);
const header = Object.keys(rows[0] ?? {});
const table = [
  `# core-inference benchmark`,
  '',
  `SmolLM2-135M-Instruct, ${PROMPT_TOKENS}-token prompt, ${NEW_TOKENS} greedy tokens, median of ${RUNS} runs after a warm-up, each runner in its own process, one after another.`,
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; Node ${machine.node}; onnxruntime-node ${machine.onnxruntimeNode}; ${machine.date}.`,
  '',
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map((row) => `| ${header.map((key) => row[key]).join(' | ')} |`),
  '',
  'Bare step: one `session.run` decode step at a 500-token past with inputs built once — the ceiling of an ONNX Runtime loop.',
  'Quality: teacher-forced over 802 positions against the PyTorch model of the same GGUF weights, measured by the model set-up (bar: fp32 max logit difference < 1e-3; quantized top-1 ≥ 96% and mean KL ≤ 0.005).',
  'transformers.js reads only the standard file names (model.onnx, model_q4.onnx, …), so it cannot run the fused graphs.',
  '',
].join('\n');
await writeFile(join(docs, 'core-inference.md'), table);
console.log(table);
