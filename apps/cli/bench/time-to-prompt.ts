// pnpm --filter shammah bench: how fast `shammah` is usable. Time to the prompt of the full-screen
// REPL in a real terminal (tmux), in-process and with the daemon, measured two ways: inside the
// process (from its start to the first frame drawn) and from outside (from the spawn until the
// prompt shows in the pane). Then the time to a whole one-shot answer with the daemon warm and
// in-process (which loads the model first). Writes docs/bench/cli.{json,md}.
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = import.meta.dirname;
/** SHAMMAH_BENCH_BIN measures another build of the command (say, an older one) the same way. */
const bin = process.env.SHAMMAH_BENCH_BIN ?? join(here, '..', 'bin', 'shammah.cjs');
const docs = join(here, '..', '..', '..', 'docs', 'bench');
const MODEL = process.env.SHAMMAH_TEST_MODEL ?? 'HuggingFaceTB/SmolLM2-135M-Instruct';
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const socket = `shammah-bench-${process.pid}`;

const tmux = (...args: string[]) => run('tmux', ['-L', socket, '-f', '/dev/null', ...args]);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface PromptTimes {
  /** Inside: process start to the first prompt drawn (the instant frame). */
  promptMs: number;
  /** Inside: process start to the full UI drawn and taking keys. */
  interactiveMs: number;
  /** Inside: from the moment the script began to run (after Node's own start-up) to the prompt. */
  ownPromptMs: number;
  /** Outside: spawn until the prompt shows in the pane. */
  externalPromptMs: number;
  /** Outside: spawn until a key typed at the prompt shows in the input. */
  externalInteractiveMs: number;
}

/** Waits until the process is gone (at most 30 s). */
async function exited(pid: number): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 20) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One REPL start in a 120×40 tmux pane. */
async function timeToPrompt(home: string): Promise<PromptTimes> {
  const marker = join(home, `ttp-${Date.now()}.txt`);
  const command = `env LANG=C.UTF-8 SHAMMAH_HOME=${home} SHAMMAH_TIME_TO_PROMPT_FILE=${marker} ${process.execPath} ${bin}`;
  const started = performance.now();
  await tmux('new-session', '-d', '-s', 'bench', '-x', '120', '-y', '40', command);
  const waitFor = async (test: (screen: string) => boolean) => {
    for (;;) {
      const { stdout } = await tmux('capture-pane', '-p', '-t', 'bench');
      if (test(stdout)) return performance.now() - started;
      if (performance.now() - started > 30_000) throw new Error(`Timed out; the pane shows:\n${stdout}`);
    }
  };
  const externalPromptMs = await waitFor((screen) => /starting…|Ask anything/.test(screen));
  await tmux('send-keys', '-t', 'bench', '-l', 'x');
  const externalInteractiveMs = await waitFor((screen) => screen.includes('› x'));
  let times: number[] = [];
  for (let attempt = 0; attempt < 100 && times.length < 3; attempt++) {
    times = (await readFile(marker, 'utf8').catch(() => '')).trim().split(' ').filter(Boolean).map(Number);
    if (times.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Let it finish starting up (the daemon connection, the model) before the next run.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const pid = Number((await tmux('display-message', '-p', '-t', 'bench', '#{pane_pid}')).stdout.trim());
  await tmux('kill-session', '-t', 'bench');
  // An in-process REPL still loading the model takes seconds to close after the hangup; the next
  // run must not start while it still holds the cores, or it measures the leftover, not the start.
  await exited(pid);
  return {
    promptMs: times[0]!,
    interactiveMs: times[1]!,
    ownPromptMs: times[0]! - times[2]!,
    externalPromptMs,
    externalInteractiveMs,
  };
}

/** Wall time of one `shammah -p --json` answer, from spawn to exit. */
async function oneShot(
  home: string,
  args: string[],
): Promise<{ wallMs: number; answer: Record<string, unknown> }> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, '-p', '--json', ...args], {
    env: { ...process.env, SHAMMAH_HOME: home },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stdin.end('What is the capital of France?');
  await new Promise((resolve) => child.on('close', resolve));
  return { wallMs: performance.now() - started, answer: JSON.parse(stdout) as Record<string, unknown> };
}

async function nodeStartup(): Promise<number> {
  const started = performance.now();
  await run(process.execPath, ['-e', '0']);
  return performance.now() - started;
}

/**
 * Inside: Node's start to the first line of an empty CommonJS script, the same clock as "prompt,
 * inside" — the floor no Node CLI gets under on this machine.
 */
async function nodeFloor(script: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { stdout } = await run(process.execPath, [script], { env });
  return Number(stdout);
}

/**
 * Node 20 reads and parses every certificate in NODE_EXTRA_CA_CERTS while it starts, before any
 * script runs (tens of milliseconds for a system bundle): a cost of the machine, not of Shammah.
 */
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS || null;

const homes: string[] = [];
async function home(config: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shammah-bench-'));
  homes.push(dir);
  await writeFile(join(dir, 'config.toml'), config);
  return dir;
}

const load = loadavg()[0]!;
const address = `127.0.0.1:${await freePort()}`;
const inProcessHome = await home(
  `[backend]\nmodel_repo = "${MODEL}"\nvariant = "fp32"\n\n[client]\nuse_daemon = false\n`,
);
const daemonHome = await home(
  `[backend]\nmodel_repo = "${MODEL}"\nvariant = "fp32"\n\n[client]\ndaemon_address = "${address}"\n`,
);

try {
  // A session that lives through the runs, so the tmux server does not exit between them.
  await tmux('new-session', '-d', '-s', 'keep', 'sleep 100000');
  const node: number[] = [];
  for (let index = 0; index < RUNS; index++) node.push(await nodeStartup());
  const floorScript = join(homes[0]!, 'first-line.cjs');
  await writeFile(floorScript, 'process.stdout.write(String(performance.now()));\n');
  const floor: number[] = [];
  for (let index = 0; index < RUNS; index++) floor.push(await nodeFloor(floorScript));
  const floorWithoutCerts: number[] = [];
  if (extraCaCerts) {
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    for (let index = 0; index < RUNS; index++) floorWithoutCerts.push(await nodeFloor(floorScript, env));
  }

  // A first run warms the file cache; it is reported apart.
  const cold = await timeToPrompt(inProcessHome);
  const inProcess: PromptTimes[] = [];
  for (let index = 0; index < RUNS; index++) inProcess.push(await timeToPrompt(inProcessHome));

  await run(process.execPath, [bin, 'daemon', 'start'], {
    env: { ...process.env, SHAMMAH_HOME: daemonHome },
  });
  // Measure with the model loaded: a daemon still loading it competes for the cores.
  for (let attempt = 0; attempt < 600; attempt++) {
    const { stdout } = await run(process.execPath, [bin, 'daemon', 'status', '--json'], {
      env: { ...process.env, SHAMMAH_HOME: daemonHome },
    }).catch(() => ({ stdout: '{}' }));
    if ((JSON.parse(stdout) as { health?: { model?: { state?: string } } }).health?.model?.state === 'ready')
      break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const daemon: PromptTimes[] = [];
  for (let index = 0; index < RUNS; index++) daemon.push(await timeToPrompt(daemonHome));

  const answers = Math.max(3, Math.floor(RUNS / 3));
  const warmDaemon: number[] = [];
  await oneShot(daemonHome, []); // the daemon loads the model on its first request's wait
  for (let index = 0; index < answers; index++) warmDaemon.push((await oneShot(daemonHome, [])).wallMs);
  const direct: number[] = [];
  for (let index = 0; index < answers; index++)
    direct.push((await oneShot(inProcessHome, ['--direct'])).wallMs);
  await run(process.execPath, [bin, 'daemon', 'stop'], { env: { ...process.env, SHAMMAH_HOME: daemonHome } });

  const summarize = (values: number[]) => ({
    medianMs: Math.round(median(values)),
    p90Ms: Math.round(percentile(values, 90)),
    minMs: Math.round(Math.min(...values)),
  });
  const result = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 1024 ** 3),
      node: process.version,
      loadAverage1m: load,
      loadAverage1mAtEnd: loadavg()[0]!,
      nodeExtraCaCerts: extraCaCerts,
    },
    model: MODEL,
    runs: RUNS,
    nodeStartup: { ...summarize(node), values: node.map(Math.round) },
    nodeFirstLine: { ...summarize(floor), values: floor.map(Math.round) },
    ...(extraCaCerts
      ? {
          nodeFirstLineWithoutExtraCaCerts: {
            ...summarize(floorWithoutCerts),
            values: floorWithoutCerts.map(Math.round),
          },
        }
      : {}),
    timeToPrompt: {
      coldFirstRun: Object.fromEntries(Object.entries(cold).map(([key, value]) => [key, Math.round(value)])),
      inProcess: {
        prompt: summarize(inProcess.map((entry) => entry.promptMs)),
        ownPrompt: summarize(inProcess.map((entry) => entry.ownPromptMs)),
        interactive: summarize(inProcess.map((entry) => entry.interactiveMs)),
        externalPrompt: summarize(inProcess.map((entry) => entry.externalPromptMs)),
        externalInteractive: summarize(inProcess.map((entry) => entry.externalInteractiveMs)),
      },
      daemon: {
        prompt: summarize(daemon.map((entry) => entry.promptMs)),
        ownPrompt: summarize(daemon.map((entry) => entry.ownPromptMs)),
        interactive: summarize(daemon.map((entry) => entry.interactiveMs)),
        externalPrompt: summarize(daemon.map((entry) => entry.externalPromptMs)),
        externalInteractive: summarize(daemon.map((entry) => entry.externalInteractiveMs)),
      },
    },
    oneShotAnswer: {
      warmDaemon: { ...summarize(warmDaemon), values: warmDaemon.map(Math.round) },
      inProcess: { ...summarize(direct), values: direct.map(Math.round) },
    },
  };
  await mkdir(docs, { recursive: true });
  await writeFile(join(docs, 'cli.json'), `${JSON.stringify(result, null, 2)}\n`);
  const row = (name: string, stats: { medianMs: number; p90Ms: number; minMs: number }, note: string) =>
    `| ${name} | ${stats.medianMs} | ${stats.p90Ms} | ${stats.minMs} | ${note} |`;
  const markdown = [
    '# shammah: time to prompt',
    '',
    `Measured ${result.date.slice(0, 10)} on ${result.machine.cpus} × ${result.machine.cpu}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}; load average ${load.toFixed(1)} when it started and ${result.machine.loadAverage1mAtEnd.toFixed(1)} when it ended (other work shares the machine)${extraCaCerts ? `; NODE_EXTRA_CA_CERTS is set (${extraCaCerts}), which Node 20 loads before any script runs` : ''}. ${RUNS} runs each; \`pnpm --filter shammah bench\` repeats it.`,
    '',
    'The prompt is drawn with plain escape sequences as soon as the process starts; the full UI (blessed) loads behind it and takes over in one write, with any keys typed meanwhile. "Prompt" is the first, "interactive" the second. "Inside" is measured from the process start (Node\'s `performance.now()`); "outside" from spawning it in a 120×40 tmux pane until the prompt shows in `capture-pane`, and until a key typed at it shows in the input. The entry Node starts is one CommonJS file (`dist/bin.cjs`) holding only argument parsing and that first frame, so Node runs it without starting its ES module loader. Each run starts after the previous run\'s process has exited.',
    '',
    '| What | median ms | p90 ms | min ms | notes |',
    '| --- | ---: | ---: | ---: | --- |',
    row('`node -e 0` (Node start, for reference)', result.nodeStartup, 'spawn to exit, outside'),
    row(
      'first line of an empty script, inside',
      result.nodeFirstLine,
      'the floor for any Node CLI, on the clock of "inside"',
    ),
    ...(result.nodeFirstLineWithoutExtraCaCerts
      ? [
          row(
            'first line of an empty script, inside, without NODE_EXTRA_CA_CERTS',
            result.nodeFirstLineWithoutExtraCaCerts,
            'the same floor where Node has no extra certificates to load',
          ),
        ]
      : []),
    row('prompt, in-process, inside', result.timeToPrompt.inProcess.prompt, 'model loads after the prompt'),
    row(
      'prompt, in-process, after Node started',
      result.timeToPrompt.inProcess.ownPrompt,
      "Shammah's own part: script start to prompt",
    ),
    row('interactive, in-process, inside', result.timeToPrompt.inProcess.interactive, ''),
    row('prompt, in-process, outside', result.timeToPrompt.inProcess.externalPrompt, ''),
    row('typed key shown, in-process, outside', result.timeToPrompt.inProcess.externalInteractive, ''),
    row('prompt, daemon running, inside', result.timeToPrompt.daemon.prompt, 'connects after the prompt'),
    row('prompt, daemon running, after Node started', result.timeToPrompt.daemon.ownPrompt, ''),
    row('interactive, daemon running, inside', result.timeToPrompt.daemon.interactive, ''),
    row('prompt, daemon running, outside', result.timeToPrompt.daemon.externalPrompt, ''),
    row('typed key shown, daemon running, outside', result.timeToPrompt.daemon.externalInteractive, ''),
    row(
      'one-shot answer, daemon warm',
      result.oneShotAnswer.warmDaemon,
      'spawn to exit, model already loaded',
    ),
    row(
      'one-shot answer, in-process',
      result.oneShotAnswer.inProcess,
      'spawn to exit, loads the model first',
    ),
    '',
    `First run of the session (cold file cache), inside: prompt ${result.timeToPrompt.coldFirstRun.promptMs} ms, interactive ${result.timeToPrompt.coldFirstRun.interactiveMs} ms.`,
    '',
  ].join('\n');
  await writeFile(join(docs, 'cli.md'), markdown);
  process.stdout.write(markdown);
} finally {
  await tmux('kill-server').catch(() => undefined);
  await run(process.execPath, [bin, 'daemon', 'stop'], {
    env: { ...process.env, SHAMMAH_HOME: daemonHome },
  }).catch(() => undefined);
  for (const dir of homes) await rm(dir, { recursive: true, force: true });
}
