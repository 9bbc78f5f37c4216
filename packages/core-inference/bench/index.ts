// pnpm bench: Shammah's Generator against transformers.js on the same ONNX files, against the
// bare runtime step (the ceiling of any ONNX Runtime loop), and against llama.cpp (natively built,
// and node-llama-cpp's prebuilt binaries) on the GGUF the model was converted from, when
// scripts/install-bench-peers.sh has installed them. Every runner is its own process, so peak
// memory is its own; runners go one after another so they never share the cores.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ggufPath,
  median,
  modelDir,
  NEW_TOKENS,
  PROMPT_TEXT,
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

const repoRoot = join(here, '..', '..', '..');
/** A Python with llama-cpp-python built for this CPU, when installed. */
const llamaPython = [
  process.env.SHAMMAH_BENCH_LLAMA_PYTHON,
  join(repoRoot, '.tools', 'llama-cpp', 'bin', 'python'),
]
  .filter((path): path is string => Boolean(path))
  .find((path) => existsSync(path));
const nodeLlamaInstalled = existsSync(
  join(repoRoot, '.tools', 'bench-peers', 'node_modules', 'node-llama-cpp'),
);

/** One llama.cpp (llama-cpp-python) runner process on the GGUF. */
async function llamaCpp(gguf: string, python: string, threads: number): Promise<RunnerReport> {
  const args = [PROMPT_TEXT, PROMPT_TOKENS, NEW_TOKENS, RUNS, threads].map(String);
  const { stdout } = await run(python, [join(here, 'run-llama-cpp.py'), gguf, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunnerReport;
}

/**
 * Memory bandwidth (bytes read and written per second): one thread per core copying a 256 MB
 * buffer of its own, all at once, as a decode step's threads read the weights.
 */
async function measureBandwidth(): Promise<number> {
  const { Worker } = await import('node:worker_threads');
  const code = `
    const { parentPort } = require('node:worker_threads');
    const size = 256 * 1024 * 1024;
    const from = Buffer.alloc(size, 1);
    const to = Buffer.alloc(size);
    parentPort.on('message', () => {
      const start = performance.now();
      from.copy(to);
      parentPort.postMessage(performance.now() - start);
    });`;
  const workers = cpus().map(() => new Worker(code, { eval: true }));
  const rates: number[] = [];
  for (let round = 0; round < 7; round++) {
    const times = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<number>((resolve) => {
            worker.once('message', resolve);
            worker.postMessage('go');
          }),
      ),
    );
    rates.push((2 * 256 * 1024 * 1024 * workers.length) / (Math.max(...times) / 1000));
  }
  await Promise.all(workers.map((worker) => worker.terminate()));
  return median(rates);
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

const bandwidth = await measureBandwidth();
console.log(
  `memory bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (read + write, ${cpus().length} threads copying)`,
);
const peers: Record<string, { report: RunnerReport; summary: ReturnType<typeof summarize> }> = {};
function summarize(report: RunnerReport) {
  return {
    prefillTokensPerSecond: median(report.runs.map((r) => r.prefillTokensPerSecond)),
    decodeTokensPerSecond: median(report.runs.map((r) => r.decodeTokensPerSecond)),
    timeToFirstTokenMs: median(report.runs.map((r) => r.timeToFirstTokenMs)),
    peakRssMB: report.peakRssMB,
  };
}
const gguf = await ggufPath().catch(() => undefined);
if (gguf && llamaPython) {
  for (const threads of [1, 2]) {
    const report = await llamaCpp(gguf, llamaPython, threads);
    peers[`llama.cpp, ${threads} thread${threads > 1 ? 's' : ''}`] = { report, summary: summarize(report) };
  }
} else console.log('llama.cpp (llama-cpp-python) is not installed: run scripts/install-bench-peers.sh');
if (gguf && nodeLlamaInstalled) {
  for (const threads of [1, 2]) {
    const report = await runner('run-node-llama-cpp.ts', String(threads));
    peers[`node-llama-cpp, ${threads} thread${threads > 1 ? 's' : ''}`] = {
      report,
      summary: summarize(report),
    };
  }
} else console.log('node-llama-cpp is not installed: run scripts/install-bench-peers.sh');
for (const [name, { summary }] of Object.entries(peers)) console.log(name, summary);

for (const variant of variants) {
  const bare = await runner('run-bare-step.ts', variant);
  const bareCApi = await runner('run-bare-step-c-api.ts', variant);
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
  const bindingStep = 1000 / bare.stepMs!;
  const ceiling = 1000 / bareCApi.stepMs!;
  const weightBytes = statSync(join(dir, 'onnx', variantFile(variant))).size;
  const bandwidthCeiling = bandwidth / 2 / weightBytes;
  results[variant] = {
    quality,
    shammah: { ...ours, runs: shammah.runs },
    ...(tjs && theirs ? { transformersJs: { ...theirs, runs: tjs.runs } } : {}),
    bareStep: { stepMs: bareCApi.stepMs, tokensPerSecond: ceiling, runner: bareCApi.runner },
    bareBindingStep: { stepMs: bare.stepMs, tokensPerSecond: bindingStep },
    bandwidthCeilingTokensPerSecond: bandwidthCeiling,
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
    'bare step tok/s (C API)': ceiling.toFixed(1),
    'decode vs bare step': `${((ours.decodeTokensPerSecond / ceiling) * 100).toFixed(0)}%`,
    'bare onnxruntime-node step tok/s': bindingStep.toFixed(1),
    'bandwidth ceiling tok/s': bandwidthCeiling.toFixed(0),
    ...Object.fromEntries(
      Object.entries(peers).map(([name, { summary: peer }]) => [
        `decode vs ${name}`,
        `${(ours.decodeTokensPerSecond / peer.decodeTokensPerSecond).toFixed(2)}×`,
      ]),
    ),
  });
  console.log(rows.at(-1));
}

/**
 * Head to head: this machine's speed drifts by ±15% from one minute to the next (it is shared), so
 * runners measured minutes apart compare badly. Shammah (the default variant) and each peer run in
 * alternation, and each round's ratio is kept: their median is the comparison.
 */
const headToHead: Array<Record<string, number>> = [];
if (variants.includes('fused-q41') && Object.keys(peers).length > 0) {
  for (let round = 0; round < 4; round++) {
    const figures: Record<string, number> = {};
    const ours = summarize(await runner('run-generator.ts', 'fused-q41'));
    figures['shammah decode'] = ours.decodeTokensPerSecond;
    figures['shammah prefill'] = ours.prefillTokensPerSecond;
    figures['shammah peak RSS'] = ours.peakRssMB;
    if (gguf && llamaPython) {
      const peer = summarize(await llamaCpp(gguf, llamaPython, 2));
      figures['llama.cpp decode'] = peer.decodeTokensPerSecond;
      figures['llama.cpp prefill'] = peer.prefillTokensPerSecond;
      figures['llama.cpp peak RSS'] = peer.peakRssMB;
    }
    if (gguf && nodeLlamaInstalled) {
      const peer = summarize(await runner('run-node-llama-cpp.ts', '1'));
      figures['node-llama-cpp decode'] = peer.decodeTokensPerSecond;
    }
    headToHead.push(figures);
    console.log('head to head', figures);
  }
}
const ratio = (key: string, peer: string) =>
  median(headToHead.filter((round) => round[peer]).map((round) => round[key]! / round[peer]!));

const batchSweep = variants.includes('fused-q41')
  ? (JSON.parse(
      (
        await run(process.execPath, ['--import', 'tsx', join(here, 'run-batch-sweep.ts'), 'fused-q41'], {
          cwd: join(here, '..'),
          maxBuffer: 16 * 1024 * 1024,
        })
      ).stdout
        .trim()
        .split('\n')
        .at(-1)!,
    ) as { results: Array<{ batch: number; stepMs: number; tokensPerSecond: number }> })
  : undefined;

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
  `${JSON.stringify(
    {
      machine,
      promptTokens: PROMPT_TOKENS,
      newTokens: NEW_TOKENS,
      runs: RUNS,
      memoryBandwidthBytesPerSecond: bandwidth,
      results,
      peers: Object.fromEntries(
        Object.entries(peers).map(([name, { report, summary: figures }]) => [
          name,
          { ...figures, runs: report.runs },
        ]),
      ),
      batchSweep: batchSweep?.results,
      headToHead,
    },
    null,
    2,
  )}\n`,
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
  '## Peers on the GGUF the model was converted from',
  '',
  '| runner | prefill tok/s | decode tok/s | TTFT ms | peak RSS MB |',
  '| --- | --- | --- | --- | --- |',
  ...Object.entries(peers).map(
    ([name, { summary: peer }]) =>
      `| ${name} | ${peer.prefillTokensPerSecond.toFixed(0)} | ${peer.decodeTokensPerSecond.toFixed(1)} | ${peer.timeToFirstTokenMs.toFixed(0)} | ${peer.peakRssMB} |`,
  ),
  ...(Object.keys(peers).length === 0 ? ['| (not installed: scripts/install-bench-peers.sh) | | | | |'] : []),
  '',
  ...(headToHead.length
    ? [
        '## Head to head, interleaved (fused-q41 against the peers on the same GGUF)',
        '',
        'Shammah, llama.cpp (2 threads) and node-llama-cpp (1 thread, its faster setting here) ran in turn, four rounds; each figure is the median of the per-round ratios.',
        '',
        '| comparison | ratio |',
        '| --- | --- |',
        ...(headToHead[0]!['llama.cpp decode']
          ? [
              `| Shammah decode ÷ llama.cpp decode | ${ratio('shammah decode', 'llama.cpp decode').toFixed(2)}× |`,
              `| Shammah prefill ÷ llama.cpp prefill | ${ratio('shammah prefill', 'llama.cpp prefill').toFixed(2)}× |`,
              `| Shammah peak RSS ÷ llama.cpp peak RSS | ${ratio('shammah peak RSS', 'llama.cpp peak RSS').toFixed(2)}× |`,
            ]
          : []),
        ...(headToHead[0]!['node-llama-cpp decode']
          ? [
              `| Shammah decode ÷ node-llama-cpp decode | ${ratio('shammah decode', 'node-llama-cpp decode').toFixed(2)}× |`,
            ]
          : []),
        '',
        '| round | Shammah decode | llama.cpp decode | node-llama-cpp decode | Shammah prefill | llama.cpp prefill |',
        '| --- | --- | --- | --- | --- | --- |',
        ...headToHead.map(
          (round, index) =>
            `| ${index + 1} | ${round['shammah decode']?.toFixed(1)} | ${round['llama.cpp decode']?.toFixed(1) ?? ''} | ${round['node-llama-cpp decode']?.toFixed(1) ?? ''} | ${round['shammah prefill']?.toFixed(0)} | ${round['llama.cpp prefill']?.toFixed(0) ?? ''} |`,
        ),
        '',
      ]
    : []),
  ...(batchSweep
    ? [
        '## Batched decoding (fused-q41, each sequence at a 500-token past)',
        '',
        '| sequences per run | step ms | aggregate decode tok/s | vs one sequence |',
        '| --- | --- | --- | --- |',
        ...batchSweep.results.map(
          (entry) =>
            `| ${entry.batch} | ${entry.stepMs.toFixed(1)} | ${entry.tokensPerSecond.toFixed(1)} | ${(entry.tokensPerSecond / batchSweep.results[0]!.tokensPerSecond).toFixed(2)}× |`,
        ),
        '',
      ]
    : []),
  "Bare step (C API): one decode step at a 500-token past with every input and output bound once, the KV cache laid out as the Generator lays it out (one shared past/present buffer for the fused graphs) — the ceiling of Shammah's loop. Bare onnxruntime-node step: the same through onnxruntime-node's `session.run`, which copies every output (the whole KV cache) into new JavaScript memory.",
  `Bandwidth ceiling: the graph file's bytes (all weights, read once a token) ÷ measured memory bandwidth (${(bandwidth / 2 / 1e9).toFixed(1)} GB/s read, ${cpus().length} threads each copying a 256 MB buffer at once).`,
  'Quality: teacher-forced over 802 positions against the PyTorch model of the same GGUF weights, measured by the model set-up (bar: fp32 max logit difference < 1e-3; quantized top-1 ≥ 96% and mean KL ≤ 0.005).',
  'transformers.js reads only the standard file names (model.onnx, model_q4.onnx, …), so it cannot run the fused graphs.',
  '',
].join('\n');
await writeFile(join(docs, 'core-inference.md'), table);
console.log(table);
