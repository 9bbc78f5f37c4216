import { spawn } from 'node:child_process';
import { loadConfig, shammahPaths } from '@shammah/config';
import {
  daemonBinPath,
  daemonStatus,
  followDaemonLog,
  readDaemonLog,
  restartDaemon,
  startDaemon,
  stopDaemon,
} from '@shammah/daemon';
import { type CliArguments, UsageError } from '../cli-arguments.js';

function formatUptime(seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours > 0 ? `${hours}h ${minutes}m` : minutes > 0 ? `${minutes}m ${seconds % 60}s` : `${seconds}s`;
}

/**
 * `shammah daemon`: `start` (in the background, at `[client] daemon_address` or `--bind`), `stop`,
 * `status` (`--json`), `restart`, `logs` (`-n`, `-f`), and `run` (the foreground; also what a bare
 * `shammah daemon` does, as in the original).
 */
export async function runDaemonCommand(
  args: readonly string[],
  flags: CliArguments['flags'],
  out: NodeJS.WriteStream = process.stdout,
): Promise<number> {
  const [action = 'run'] = args;
  const home = shammahPaths().home;
  const config = await loadConfig();
  const bind = flags.bind ?? config.client.daemon_address;
  const runArgs = [
    '--bind',
    bind,
    ...(flags.model ? ['--model', flags.model] : []),
    ...(flags.variant ? ['--variant', flags.variant] : []),
  ];
  switch (action) {
    case 'start': {
      const status = await daemonStatus({ home });
      if (status.running) {
        out.write(`The daemon is already running (pid ${status.pid}, ${status.url ?? status.address}).\n`);
        return 0;
      }
      const started = await startDaemon({
        home,
        args: runArgs,
        readyTimeoutMs: config.client.timeout_seconds * 1000,
      });
      out.write(`Daemon started: pid ${started.pid}, ${started.url} (log: ${started.logFile}).\n`);
      return 0;
    }
    case 'stop': {
      const result = await stopDaemon({ home });
      if (result.stopped)
        out.write(
          `Daemon stopped (pid ${result.pid}${result.killed ? ', killed after the grace period' : ''}).\n`,
        );
      else if (result.removedStalePidFile) out.write('No daemon was running; removed a stale PID file.\n');
      else out.write('No daemon is running.\n');
      return 0;
    }
    case 'restart': {
      const started = await restartDaemon({
        home,
        args: runArgs,
        readyTimeoutMs: config.client.timeout_seconds * 1000,
      });
      out.write(`Daemon restarted: pid ${started.pid}, ${started.url}.\n`);
      return 0;
    }
    case 'status': {
      const status = await daemonStatus({ home });
      if (flags.json) {
        out.write(`${JSON.stringify(status)}\n`);
        return status.running ? 0 : 3;
      }
      if (!status.running) {
        out.write(
          `The daemon is not running${status.stalePid ? ` (stale PID file of pid ${status.stalePid})` : ''}. Start it with: shammah daemon start\n`,
        );
        return 3;
      }
      const health = status.health;
      const lines = [
        `running   pid ${status.pid}, up ${formatUptime(status.uptimeSeconds)}`,
        `address   ${status.url ?? status.address ?? '?'}`,
        ...(health
          ? [
              `model     ${health.model ? `${health.model.id} — ${health.model.state}${health.model.progress !== undefined ? ` ${Math.round(health.model.progress * 100)}%` : ''}${health.model.reason ? ` (${health.model.reason})` : ''}` : 'none (teachers only)'}`,
              `teachers  ${health.teachers.length ? health.teachers.map((teacher) => `${teacher.provider}:${teacher.model}`).join(', ') : 'none'}`,
              `sessions  ${health.sessions.count} of ${health.sessions.max}`,
              `queue     ${health.queue.active} running, ${health.queue.queued} waiting (max ${health.queue.max})`,
              `status    ${health.status}`,
            ]
          : ['health    not answering']),
      ];
      out.write(`${lines.join('\n')}\n`);
      return 0;
    }
    case 'logs': {
      if (flags.follow) {
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        for await (const line of followDaemonLog({
          home,
          lines: flags.lines ?? 20,
          signal: controller.signal,
        })) {
          out.write(`${line}\n`);
        }
        return 0;
      }
      const lines = await readDaemonLog({ home, lines: flags.lines ?? 50 });
      if (lines.length === 0) out.write(`The daemon's log (${shammahPaths().daemonLog}) is empty.\n`);
      else out.write(`${lines.join('\n')}\n`);
      return 0;
    }
    case 'run': {
      // The foreground daemon, its output on this terminal; signals reach it through the process group.
      const child = spawn(process.execPath, [daemonBinPath(), 'run', ...runArgs], { stdio: 'inherit' });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      return new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          process.off('SIGINT', forward);
          process.off('SIGTERM', forward);
          resolve(code ?? (signal === 'SIGINT' ? 130 : 143));
        });
      });
    }
    default:
      throw new UsageError(
        `Unknown daemon action "${action}". Use start, stop, status, restart, logs or run.`,
      );
  }
}
