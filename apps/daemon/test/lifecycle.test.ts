// The daemon's life as the CLI drives it: real `shammah-daemon` processes started detached in a real
// temporary Shammah home, stopped with signals, killed with SIGKILL, and racing each other for the
// PID file.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DaemonAlreadyRunningError,
  DaemonStartError,
  daemonPaths,
  daemonStatus,
  readDaemonLog,
  startDaemon,
  stopDaemon,
} from '../src/index.js';
import { binPath, ensureBuilt } from './support/built-daemon.js';
import { eventually, metric } from './support/metrics.js';
import { realModelDir } from './support/real-model.js';

const run = promisify(execFile);

/** A teacher that is never called: lets a daemon start without loading the local model. */
const TEACHER_ONLY_CONFIG = `
[backend]
enabled = false

[[teachers]]
provider = "openai-compatible"
base_url = "http://127.0.0.1:9/v1"
model = "stand-in"
`;

let modelDir: string;
const homes: string[] = [];

async function newHome(config?: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'shammah-daemon-home-'));
  homes.push(home);
  if (config) await writeFile(join(home, 'config.toml'), config);
  return home;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  ensureBuilt();
  modelDir = await realModelDir();
});

afterEach(async () => {
  for (const home of homes.splice(0)) {
    await stopDaemon({ home, timeoutMs: 5000 }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
});

describe('start, status, stop', () => {
  it('starts detached, reports its status, refuses a second start, and stops cleanly', async () => {
    const home = await newHome();
    const started = await startDaemon({
      home,
      args: ['--bind', '127.0.0.1:0', '--model', modelDir, '--variant', 'fp32', '--no-download'],
    });
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(alive(started.pid)).toBe(true);
    const pidFile = JSON.parse(await readFile(daemonPaths(home).pidFile, 'utf8'));
    expect(pidFile).toMatchObject({ pid: started.pid, url: started.url });

    const status = await daemonStatus({ home });
    expect(status).toMatchObject({ running: true, pid: started.pid, url: started.url });
    if (!status.running) throw new Error('not running');
    expect(status.health?.model?.id).toBe(modelDir);
    expect(['absent', 'loading', 'ready']).toContain(status.health?.model?.state);

    // The model loads in the background; the daemon answers health checks meanwhile.
    expect(
      await eventually(async () => {
        const current = await daemonStatus({ home });
        return current.running && current.health?.model?.state === 'ready';
      }, 60_000),
    ).toBe(true);
    const { stdout } = await run(process.execPath, [binPath, 'status', '--home', home]);
    expect(stdout).toContain(`Running: pid ${started.pid}`);
    expect(stdout).toContain('(ready)');

    await expect(startDaemon({ home, args: ['--bind', '127.0.0.1:0', '--no-local'] })).rejects.toBeInstanceOf(
      DaemonAlreadyRunningError,
    );

    const log = await readDaemonLog({ home });
    expect(log.some((line) => line.includes('daemon listening'))).toBe(true);

    const stopped = await stopDaemon({ home });
    expect(stopped).toEqual({ stopped: true, pid: started.pid, killed: false });
    expect(await eventually(async () => !alive(started.pid))).toBe(true);
    await expect(readFile(daemonPaths(home).pidFile, 'utf8')).rejects.toThrow();
    expect(await daemonStatus({ home })).toMatchObject({ running: false });
    const notRunning = await run(process.execPath, [binPath, 'status', '--home', home]).catch(
      (error) => error,
    );
    expect(notRunning.code).toBe(3);
  });

  it('prints help and the version', async () => {
    const help = await run(process.execPath, [binPath, '--help']);
    expect(help.stdout).toContain('Usage: shammah-daemon');
    const version = await run(process.execPath, [binPath, '--version']);
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    expect(version.stdout.trim()).toBe(manifest.version);
  });
});

describe('a daemon that cannot start', () => {
  it('reports why, from the end of its log', async () => {
    const home = await newHome(`${TEACHER_ONLY_CONFIG}\n[server]\nauth_enabled = true\n`);
    const error = await startDaemon({ home, args: ['--bind', '127.0.0.1:0'] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DaemonStartError);
    expect((error as Error).message).toContain('api_keys is empty');
    expect(await daemonStatus({ home })).toMatchObject({ running: false });
  });
});

describe('crashes and races', () => {
  it('replaces the PID file of a daemon killed with SIGKILL', async () => {
    const home = await newHome(TEACHER_ONLY_CONFIG);
    const first = await startDaemon({ home, args: ['--bind', '127.0.0.1:0'] });
    process.kill(first.pid, 'SIGKILL');
    expect(await eventually(async () => !alive(first.pid))).toBe(true);
    // The killed daemon could not remove its PID file.
    expect(JSON.parse(await readFile(daemonPaths(home).pidFile, 'utf8')).pid).toBe(first.pid);
    expect(await daemonStatus({ home })).toMatchObject({ running: false, stalePid: first.pid });

    const second = await startDaemon({ home, args: ['--bind', '127.0.0.1:0'] });
    expect(second.pid).not.toBe(first.pid);
    expect(await daemonStatus({ home })).toMatchObject({ running: true, pid: second.pid });
  });

  it('treats a PID file naming an unrelated live process as stale, and leaves that process alone', async () => {
    const home = await newHome(TEACHER_ONLY_CONFIG);
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      // The id now belongs to a process that started after the PID file was written: a reused id.
      const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
      await writeFile(
        daemonPaths(home).pidFile,
        JSON.stringify({ pid: stranger.pid, startedAt: anHourAgo, url: 'http://127.0.0.1:9' }),
      );
      expect(await daemonStatus({ home })).toMatchObject({ running: false, stalePid: stranger.pid });
      const started = await startDaemon({ home, args: ['--bind', '127.0.0.1:0'] });
      expect(started.pid).not.toBe(stranger.pid);
      expect(alive(stranger.pid!)).toBe(true);
    } finally {
      stranger.kill();
    }
  });

  it('lets exactly one of two simultaneous starts win', async () => {
    const home = await newHome(TEACHER_ONLY_CONFIG);
    const results = await Promise.allSettled([
      startDaemon({ home, args: ['--bind', '127.0.0.1:0'] }),
      startDaemon({ home, args: ['--bind', '127.0.0.1:0'] }),
    ]);
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result) => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(DaemonAlreadyRunningError);
    const status = await daemonStatus({ home });
    expect(status).toMatchObject({
      running: true,
      pid: (won[0] as PromiseFulfilledResult<{ pid: number }>).value.pid,
    });
  });
});

describe('graceful shutdown on SIGTERM', () => {
  it('refuses queued requests, cancels the answer in progress after the grace period, and removes the PID file', async () => {
    const home = await newHome();
    const started = await startDaemon({
      home,
      args: [
        '--bind',
        '127.0.0.1:0',
        '--model',
        modelDir,
        '--variant',
        'fp32',
        '--no-download',
        '--shutdown-grace',
        '2',
      ],
    });
    expect(
      await eventually(async () => {
        const status = await daemonStatus({ home });
        return status.running && status.health?.model?.state === 'ready';
      }, 60_000),
    ).toBe(true);
    const post = (body: Record<string, unknown>) =>
      fetch(`${started.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'shammah', ...body }),
      });
    // An answer that would go on for thousands of tokens holds the model…
    const endless = await post({
      stream: true,
      max_tokens: 4000,
      messages: [{ role: 'user', content: 'Repeat the word "hello" forever.' }],
    });
    expect(endless.status).toBe(200);
    const reader = endless.body!.getReader();
    await reader.read();
    // …while another waits its turn.
    const queued = post({ max_tokens: 3, messages: [{ role: 'user', content: 'Hi' }] });
    expect(await eventually(async () => (await metric(started.url, 'shammah_queue_depth')) === 1)).toBe(true);

    const stopping = stopDaemon({ home, timeoutMs: 20_000 });
    const refused = await queued;
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'shutting_down' } });

    // The answer in progress ends with an error event in OpenAI's shape, not a cut connection.
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const events = rest.split('\n\n').filter((event) => event.startsWith('data: '));
    expect(JSON.parse(events.at(-1)!.slice('data: '.length))).toMatchObject({
      error: { code: 'shutting_down' },
    });

    expect(await stopping).toEqual({ stopped: true, pid: started.pid, killed: false });
    await expect(readFile(daemonPaths(home).pidFile, 'utf8')).rejects.toThrow();
    const log = await readDaemonLog({ home });
    expect(log.some((line) => line.includes('cancelling requests still in progress'))).toBe(true);
    expect(log.some((line) => line.includes('daemon stopped'))).toBe(true);
  });
});
