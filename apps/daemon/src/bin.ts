import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { shammahHome } from '@shammah/config';
import { pino } from 'pino';
import { type DaemonFlags, daemonSettings } from './daemon-settings.js';
import { DaemonAlreadyRunningError } from './errors.js';
import {
  daemonPaths,
  daemonStatus,
  followDaemonLog,
  readDaemonLog,
  restartDaemon,
  runDaemon,
  startDaemon,
  stopDaemon,
} from './lifecycle.js';

const HELP = `shammah-daemon: Shammah's server, with OpenAI- and Anthropic-compatible APIs over the local model and teachers.

Usage: shammah-daemon [command] [options]

Commands:
  run        Run in the foreground (the default); logs go to stdout
  start      Start in the background; logs go to <home>/daemon.log
  stop       Stop the daemon (SIGTERM; SIGKILL after --timeout seconds)
  status     Show the PID, uptime, address, model status and sessions
  restart    Stop, then start in the background
  logs       Print the end of the log (-n lines; -f to follow)

Options:
  --home <dir>          Shammah's home (default: $SHAMMAH_HOME or ~/.shammah)
  --bind <host:port>    Address to listen on (default: [server] bind_address, 127.0.0.1:11435)
  --model <repo|dir>    Local model (default: [backend] model_repo, or ${'HuggingFaceTB/SmolLM2-135M-Instruct'})
  --variant <name>      ONNX variant: auto, fp32, q4, int8, … (default: [backend] variant)
  --no-local            Serve the teachers only
  --no-download         Do not download a missing model
  --api-key <key>       Require this API key (repeatable; required for non-loopback binds)
  --max-sessions <n>    Sessions kept (default: [server] max_sessions, 100)
  --max-queue <n>       Requests that may wait for the local model (default: [server] max_queue, 32)
  --shutdown-grace <s>  On SIGTERM, let requests finish this long before cancelling them (default 10)
  --timeout <seconds>   stop/restart: grace before SIGKILL (default 15)
  -n, --lines <n>       logs: lines to print (default 50)
  -f, --follow          logs: keep printing new lines
  --json                status: print JSON
  -v, --version         Print the version
  -h, --help            Print this help
`;

function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new Error(`${flag} must be a positive whole number, not "${value}".`);
  return number;
}

/** The flags `start` and `restart` pass on to `run`. */
function runArgs(values: Record<string, unknown>): string[] {
  const args: string[] = [];
  for (const name of ['bind', 'model', 'variant', 'max-sessions', 'max-queue', 'shutdown-grace'] as const) {
    if (typeof values[name] === 'string') args.push(`--${name}`, values[name] as string);
  }
  for (const name of ['no-local', 'no-download'] as const) if (values[name]) args.push(`--${name}`);
  for (const key of (values['api-key'] as string[] | undefined) ?? []) args.push('--api-key', key);
  return args;
}

function formatUptime(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours > 0 ? `${hours}h ${minutes}m` : minutes > 0 ? `${minutes}m ${seconds % 60}s` : `${seconds}s`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      bind: { type: 'string' },
      model: { type: 'string' },
      variant: { type: 'string' },
      'no-local': { type: 'boolean' },
      'no-download': { type: 'boolean' },
      'api-key': { type: 'string', multiple: true },
      'max-sessions': { type: 'string' },
      'max-queue': { type: 'string' },
      'shutdown-grace': { type: 'string' },
      timeout: { type: 'string' },
      lines: { type: 'string', short: 'n' },
      follow: { type: 'boolean', short: 'f' },
      json: { type: 'boolean' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const version = packageVersion();
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'run';
  const home = values.home ?? shammahHome();
  const timeoutSeconds = positiveInteger(values.timeout, '--timeout');
  const timeoutMs = timeoutSeconds !== undefined ? timeoutSeconds * 1000 : undefined;

  switch (command) {
    case 'run': {
      const logger = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
      const flags: DaemonFlags = {
        home,
        version,
        ...(values.bind ? { bind: values.bind } : {}),
        ...(values.model ? { model: values.model } : {}),
        ...(values.variant ? { variant: values.variant } : {}),
        ...(values['no-local'] ? { noLocal: true } : {}),
        ...(values['no-download'] ? { noDownload: true } : {}),
        ...(values['api-key'] ? { apiKeys: values['api-key'] } : {}),
        ...(values['max-sessions']
          ? { maxSessions: positiveInteger(values['max-sessions'], '--max-sessions')! }
          : {}),
        ...(values['max-queue'] ? { maxQueued: positiveInteger(values['max-queue'], '--max-queue')! } : {}),
        ...(values['shutdown-grace']
          ? { shutdownGraceMs: positiveInteger(values['shutdown-grace'], '--shutdown-grace')! * 1000 }
          : {}),
      };
      // Refuse before loading a model if a daemon already runs here (runDaemon checks again, under a lock).
      const current = await daemonStatus({ home });
      if (current.running) throw new DaemonAlreadyRunningError(current.pid, current.url, current.pidFile);
      const { dispose, ...settings } = await daemonSettings(flags, logger);
      let running: Awaited<ReturnType<typeof runDaemon>>;
      try {
        running = await runDaemon({ ...settings, onStopped: dispose });
      } catch (error) {
        await dispose();
        throw error;
      }
      logger.info({ url: running.address.url, pidFile: running.paths.pidFile }, 'shammah daemon ready');
      await running.stopped;
      return 0;
    }
    case 'start':
    case 'restart': {
      const options = { home, args: runArgs(values), ...(timeoutMs ? { timeoutMs } : {}) };
      const started = command === 'start' ? await startDaemon(options) : await restartDaemon(options);
      process.stdout.write(
        `Shammah daemon ${command === 'start' ? 'started' : 'restarted'}: pid ${started.pid}, ${started.url}\n`,
      );
      process.stdout.write(`Log: ${started.logFile}\n`);
      return 0;
    }
    case 'stop': {
      const result = await stopDaemon({ home, ...(timeoutMs ? { timeoutMs } : {}) });
      if (result.stopped) {
        process.stdout.write(
          `Stopped the daemon (pid ${result.pid})${result.killed ? ' with SIGKILL' : ''}.\n`,
        );
      } else {
        process.stdout.write(
          result.removedStalePidFile
            ? 'The daemon was not running; removed its stale PID file.\n'
            : 'The daemon is not running.\n',
        );
      }
      return 0;
    }
    case 'status': {
      const status = await daemonStatus({ home });
      if (values.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return status.running ? 0 : 3;
      }
      if (!status.running) {
        process.stdout.write(
          `The daemon is not running${status.stalePid ? ` (stale PID file for pid ${status.stalePid})` : ''}.\n`,
        );
        return 3;
      }
      const health = status.health;
      const lines = [
        `Running: pid ${status.pid}, up ${formatUptime(status.uptimeSeconds)}`,
        `Address: ${status.url ?? status.address ?? 'starting'}`,
      ];
      if (health) {
        const model = health.model;
        lines.push(
          `Model: ${model ? `${model.id} (${model.state}${model.progress !== undefined ? ` ${Math.round(model.progress * 100)}%` : ''}${model.reason ? `: ${model.reason}` : ''})` : 'none'}`,
          `Teachers: ${health.teachers.map((teacher) => `${teacher.provider}:${teacher.model}`).join(', ') || 'none'}`,
          `Sessions: ${health.sessions.count} of ${health.sessions.max}; queue ${health.queue.queued} waiting, ${health.queue.active} running`,
        );
      } else {
        lines.push('Health: no answer from /health');
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    case 'logs': {
      const count = positiveInteger(values.lines, '--lines') ?? 50;
      if (values.follow) {
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        for await (const line of followDaemonLog({ home, lines: count, signal: controller.signal })) {
          process.stdout.write(`${line}\n`);
        }
        return 0;
      }
      const lines = await readDaemonLog({ home, lines: count });
      if (lines.length === 0)
        process.stdout.write(`The log ${daemonPaths(home).logFile} is empty or missing.\n`);
      for (const line of lines) process.stdout.write(`${line}\n`);
      return 0;
    }
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`shammah-daemon: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
