// pnpm bench: the real daemon in this process on 127.0.0.1 over the real SmolLM2 model (variant auto,
// on its worker thread, composed as the shammah-daemon bin composes it), driven by 1, 4 and 16
// concurrent streaming clients; then the daemon's overhead over streaming from the model directly.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createRouter } from '@shammah/router';
import { createDaemon } from '../src/index.js';
import { createLocalModel } from '../src/local-model.js';
import { DEV_MODEL, realModelDir } from '../test/support/real-model.js';
import {
  type BenchRequest,
  median,
  percentile,
  type StreamTiming,
  streamDirect,
  streamOverHttp,
} from './stream-timing.js';

const here = import.meta.dirname;
const docs = join(here, '..', '..', '..', 'docs', 'bench');
const LEVELS = [
  { clients: 1, rounds: 3 },
  { clients: 4, rounds: 3 },
  { clients: 16, rounds: 1 },
];
const OVERHEAD_RUNS = 5;
const MAX_TOKENS = 64;
const request: BenchRequest = {
  messages: [
    {
      role: 'user',
      content: 'Write a short story about a lighthouse keeper who finds a message in a bottle.',
    },
  ],
  maxTokens: MAX_TOKENS,
};
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
/** The figures of one round at one concurrency. */
interface RoundFigures {
  wallSeconds: number;
  completionTokens: number;
  tokensPerSecond: number;
  requestsPerSecond: number;
  interTokenP50Ms: number;
  interTokenP99Ms: number;
  timeToFirstTokenP50Ms: number;
  timeToFirstTokenP99Ms: number;
}
const round1 = (value: number) => Math.round(value * 10) / 10;

const benchStart = performance.now();
const loadAverageAtStart = loadAverage();
// The daemon's default batch size ([server] batch_size), or SHAMMAH_BENCH_BATCH.
const BATCH = Number(process.env.SHAMMAH_BENCH_BATCH ?? 4);
const { generator: local } = await createLocalModel({
  model: await realModelDir(),
  variant: 'auto',
  batchSize: BATCH,
});
await local.ready();
const status = local.status;
const modelName = process.env.SHAMMAH_TEST_MODEL ?? DEV_MODEL;
const variant = status.state === 'ready' ? status.variant : 'unknown';
const daemon = createDaemon({
  local,
  route: (models) => createRouter(models),
  port: 0,
  defaultMetrics: false,
  localConcurrency: BATCH,
});
const { url } = await daemon.listen();
console.log(`daemon on ${url}, ${modelName}, variant ${variant}; load average ${loadAverageAtStart}`);

try {
  // Warm-up: the worker, the prefix cache of the prompt, the HTTP path.
  for (let index = 0; index < 2; index++) await streamOverHttp(url, request, `bench-warm-${index}`);
  await streamDirect(local, request);

  const concurrency = [];
  for (const { clients, rounds } of LEVELS) {
    const perRound: RoundFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      const start = performance.now();
      const timings: StreamTiming[] = await Promise.all(
        Array.from({ length: clients }, (_, client) =>
          streamOverHttp(url, request, `bench-c${clients}-r${round}-client${client}`),
        ),
      );
      const wallSeconds = (performance.now() - start) / 1000;
      const tokens = timings.reduce((sum, timing) => sum + timing.completionTokens, 0);
      const gaps = timings.flatMap((timing) => timing.gapsMs);
      const firsts = timings.map((timing) => timing.timeToFirstTokenMs);
      perRound.push({
        wallSeconds,
        completionTokens: tokens,
        tokensPerSecond: tokens / wallSeconds,
        requestsPerSecond: clients / wallSeconds,
        interTokenP50Ms: percentile(gaps, 0.5),
        interTokenP99Ms: percentile(gaps, 0.99),
        timeToFirstTokenP50Ms: percentile(firsts, 0.5),
        timeToFirstTokenP99Ms: percentile(firsts, 0.99),
      });
    }
    const of = (key: keyof RoundFigures) => median(perRound.map((figures) => figures[key]));
    const summary = {
      clients,
      rounds,
      tokensPerSecond: of('tokensPerSecond'),
      requestsPerSecond: of('requestsPerSecond'),
      interTokenP50Ms: of('interTokenP50Ms'),
      interTokenP99Ms: of('interTokenP99Ms'),
      timeToFirstTokenP50Ms: of('timeToFirstTokenP50Ms'),
      timeToFirstTokenP99Ms: of('timeToFirstTokenP99Ms'),
      perRound,
    };
    concurrency.push(summary);
    console.log(JSON.stringify({ ...summary, perRound: undefined }));
  }

  // Alternate the two paths so a change in the machine's load falls on both alike.
  const overHttp: StreamTiming[] = [];
  const direct: StreamTiming[] = [];
  for (let index = 0; index < OVERHEAD_RUNS; index++) {
    overHttp.push(await streamOverHttp(url, request, `bench-overhead-${index}`));
    direct.push(await streamDirect(local, request));
  }
  const summarise = (timings: StreamTiming[]) => ({
    totalMs: median(timings.map((timing) => timing.totalMs)),
    timeToFirstTokenMs: median(timings.map((timing) => timing.timeToFirstTokenMs)),
    completionTokens: median(timings.map((timing) => timing.completionTokens)),
    runsMs: timings.map((timing) => round1(timing.totalMs)),
    spreadMs:
      Math.max(...timings.map((timing) => timing.totalMs)) -
      Math.min(...timings.map((timing) => timing.totalMs)),
  });
  const http = summarise(overHttp);
  const bare = summarise(direct);
  const overhead = {
    runs: OVERHEAD_RUNS,
    daemon: http,
    direct: bare,
    perRequestMs: http.totalMs - bare.totalMs,
    perTokenMs: (http.totalMs - bare.totalMs) / bare.completionTokens,
    relative: http.totalMs / bare.totalMs - 1,
  };
  console.log(JSON.stringify(overhead));

  const cpu =
    /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const onnxruntimeNode = JSON.parse(
    readFileSync(
      join(
        here,
        '..',
        '..',
        '..',
        'packages',
        'core-inference',
        'node_modules',
        'onnxruntime-node',
        'package.json',
      ),
      'utf8',
    ),
  ).version as string;
  const machine = {
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    onnxruntimeNode,
    date: new Date().toISOString(),
    loadAverageAtStart,
    loadAverageAtEnd: loadAverage(),
  };
  const benchSeconds = (performance.now() - benchStart) / 1000;
  await mkdir(docs, { recursive: true });
  await writeFile(
    join(docs, 'daemon.json'),
    `${JSON.stringify(
      {
        machine,
        model: modelName,
        variant,
        maxTokens: MAX_TOKENS,
        request,
        benchSeconds,
        concurrency,
        overhead,
      },
      null,
      2,
    )}\n`,
  );
  const ms = (value: number) => value.toFixed(1);
  const markdown = [
    '# daemon benchmark',
    '',
    `The daemon in-process on 127.0.0.1 (router over the queued local model, as \`shammah-daemon\` composes it), ${modelName} variant \`${variant}\` on its worker thread. Each client streams one chat completion over \`fetch\` (SSE): a fixed short prompt, \`max_tokens\` ${MAX_TOKENS}, temperature 0, its own session id. Median of the rounds after a warm-up.`,
    `Machine: ${cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; Node ${machine.node}; onnxruntime-node ${onnxruntimeNode}; ${machine.date}. Load average (1, 5, 15 min) ${loadAverageAtStart} at the start and ${machine.loadAverageAtEnd} at the end: the machine was shared, so the figures are lower than on an idle one.`,
    '',
    '| clients | rounds | generated tok/s (all clients) | requests/s | per-token latency p50 ms | p99 ms | time to first token p50 ms | p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...concurrency.map(
      (level) =>
        `| ${level.clients} | ${level.rounds} | ${level.tokensPerSecond.toFixed(1)} | ${level.requestsPerSecond.toFixed(2)} | ${ms(level.interTokenP50Ms)} | ${ms(level.interTokenP99Ms)} | ${ms(level.timeToFirstTokenP50Ms)} | ${ms(level.timeToFirstTokenP99Ms)} |`,
    ),
    '',
    `Batch size ${BATCH}: up to ${BATCH} requests are decoded together (one runtime run per step over all of them); more wait in the fair queue, so time to first token grows with the queue ahead of a request.`,
    'Per-token latency is the time between consecutive content deltas as the client receives them; time to first token runs from sending the request, queueing included. With 16 samples, the p99 of time to first token is the slowest client.',
    '',
    `## Overhead of the daemon over a direct call (1 client, ${OVERHEAD_RUNS} runs each, alternated)`,
    '',
    '| path | median total ms | median time to first token ms | tokens |',
    '| --- | --- | --- | --- |',
    `| daemon (HTTP, SSE, queue, router) | ${ms(http.totalMs)} | ${ms(http.timeToFirstTokenMs)} | ${http.completionTokens} |`,
    `| \`WorkerGenerator.stream\` directly | ${ms(bare.totalMs)} | ${ms(bare.timeToFirstTokenMs)} | ${bare.completionTokens} |`,
    '',
    `Difference (daemon − direct): ${ms(overhead.perRequestMs)} ms a request, ${overhead.perTokenMs.toFixed(2)} ms a token (${(overhead.relative * 100).toFixed(1)}%); time to first token ${ms(http.timeToFirstTokenMs - bare.timeToFirstTokenMs)} ms. ${
      Math.abs(overhead.perRequestMs) < Math.max(http.spreadMs, bare.spreadMs)
        ? `The difference in total time is smaller than the run-to-run spread (${ms(bare.spreadMs)} ms direct, ${ms(http.spreadMs)} ms through the daemon), so on this machine the daemon's cost is not measurable beyond the noise.`
        : `The run-to-run spread was ${ms(bare.spreadMs)} ms direct and ${ms(http.spreadMs)} ms through the daemon.`
    } The individual runs are in daemon.json.`,
    '',
    `Run with \`pnpm --filter @shammah/daemon bench\` (this run took ${benchSeconds.toFixed(0)} s).`,
    '',
  ].join('\n');
  await writeFile(join(docs, 'daemon.md'), markdown);
  console.log(markdown);
} finally {
  await daemon.close();
  await local.dispose();
}
