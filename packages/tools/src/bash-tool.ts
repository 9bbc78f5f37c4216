import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { defineTool, type Tool } from './tool.js';

/** Settings of {@link createBashTool}. */
export interface BashToolOptions {
  /** When the model gives no timeout (default 120 s). */
  defaultTimeoutMs?: number;
  /** The most the model may ask for (default 10 min). */
  maxTimeoutMs?: number;
  /** Default `/bin/bash`, or `/bin/sh` where there is no bash. */
  shell?: string;
  /** Environment of the command; defaults to this process's. */
  env?: NodeJS.ProcessEnv;
  /** Between SIGTERM and SIGKILL when killing (default 2 s). */
  killGraceMs?: number;
  /** Output kept in memory per stream; the middle of longer output is dropped (default 1 MB). */
  maxBufferedChars?: number;
}

/** What Bash returns to the UI. */
export interface BashToolData {
  command: string;
  /** `null` when the command was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

const inputSchema = z.object({
  command: z.string().min(1).describe('The shell command to run, e.g. "npm test" or "git status".'),
  timeout_ms: z.number().int().min(1).optional().describe('Stop the command after this many milliseconds.'),
  description: z.string().optional().describe('A few words on what the command does, shown to the user.'),
});

/** Keeps the start and the end of a long output, dropping the middle. */
class OutputBuffer {
  private head = '';
  private tail = '';
  private dropped = 0;
  constructor(private readonly limit: number) {}

  append(text: string): void {
    if (this.head.length < this.limit / 2) {
      const room = this.limit / 2 - this.head.length;
      this.head += text.slice(0, room);
      text = text.slice(room);
    }
    if (text === '') return;
    this.tail += text;
    if (this.tail.length > this.limit / 2) {
      const excess = this.tail.length - this.limit / 2;
      this.dropped += excess;
      this.tail = this.tail.slice(excess);
    }
  }

  toString(): string {
    return this.dropped > 0
      ? `${this.head}\n[… ${this.dropped} characters dropped …]\n${this.tail}`
      : this.head + this.tail;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Bash: runs a shell command in the working directory with a timeout, streams its output through
 * `context.onOutput`, and returns exit code, stdout and stderr. The command runs in its own process
 * group, and the whole group (children and grandchildren) is killed on timeout or abort, and when the
 * command exits while background processes still hold its output open.
 */
export function createBashTool(
  options: BashToolOptions = {},
): Tool<z.output<typeof inputSchema>, BashToolData> {
  const {
    defaultTimeoutMs = 120_000,
    maxTimeoutMs = 600_000,
    killGraceMs = 2_000,
    maxBufferedChars = 1_000_000,
  } = options;
  const shell = options.shell ?? (existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh');
  return defineTool({
    name: 'Bash',
    aliases: ['bash', 'shell', 'run_command'],
    description:
      'Run a shell command in the project directory and get its exit code, stdout and stderr. Use it for builds, ' +
      `tests, git and other command-line tools. Commands time out after ${defaultTimeoutMs / 1000} s unless timeout_ms ` +
      `is given (at most ${maxTimeoutMs / 1000} s). Commands cannot read input; do not start interactive programs. ` +
      'Prefer Read, Glob and Grep over cat, find and grep.',
    inputSchema,
    kind: 'execute',
    inputAliases: { cmd: 'command', script: 'command', timeout: 'timeout_ms' },
    truncation: 'head-and-tail',
    permissionTarget: (input) => ({ type: 'command', command: input.command }),
    execute(input, context) {
      const timeoutMs = Math.min(input.timeout_ms ?? defaultTimeoutMs, maxTimeoutMs);
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const child = spawn(shell, ['-c', input.command], {
          cwd: context.cwd,
          env: options.env ?? process.env,
          detached: true, // its own process group, so the group can be killed as one
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const stdout = new OutputBuffer(maxBufferedChars);
        const stderr = new OutputBuffer(maxBufferedChars);
        let timedOut = false;
        let aborted = false;
        let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
        let closeTimer: NodeJS.Timeout | undefined;
        let killTimer: NodeJS.Timeout | undefined;

        const terminate = () => {
          if (child.pid === undefined) return;
          killGroup(child.pid, 'SIGTERM');
          killTimer ??= setTimeout(() => killGroup(child.pid!, 'SIGKILL'), killGraceMs);
        };
        const timer = setTimeout(() => {
          timedOut = true;
          terminate();
        }, timeoutMs);
        const onAbort = () => {
          aborted = true;
          terminate();
        };
        if (context.signal.aborted) onAbort();
        else context.signal.addEventListener('abort', onAbort, { once: true });

        for (const [name, stream, buffer] of [
          ['stdout', child.stdout, stdout],
          ['stderr', child.stderr, stderr],
        ] as const) {
          const decoder = new StringDecoder('utf8');
          stream.on('data', (chunk: Buffer) => {
            const text = decoder.write(chunk);
            if (text === '') return;
            buffer.append(text);
            context.onOutput?.({ stream: name, text });
          });
          stream.on('end', () => {
            const text = decoder.end();
            if (text !== '') buffer.append(text);
          });
        }

        child.on('error', (error) => {
          clearTimeout(timer);
          context.signal.removeEventListener('abort', onAbort);
          reject(error);
        });
        child.on('exit', (code, signal) => {
          exited = { code, signal };
          // Background processes may still hold stdout open; give them a moment, then end the group.
          closeTimer = setTimeout(() => {
            if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
            child.stdout.destroy();
            child.stderr.destroy();
          }, 250);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          clearTimeout(closeTimer);
          context.signal.removeEventListener('abort', onAbort);
          // SIGKILL any straggler that ignored SIGTERM, then stop waiting.
          if ((timedOut || aborted) && child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
          clearTimeout(killTimer);
          const exitCode = exited?.code ?? code;
          const exitSignal = exited?.signal ?? signal;
          const data: BashToolData = {
            command: input.command,
            exitCode,
            signal: exitSignal,
            stdout: stdout.toString(),
            stderr: stderr.toString(),
            timedOut,
            aborted,
            durationMs: Date.now() - started,
          };
          const parts: string[] = [];
          if (data.stdout !== '') parts.push(data.stdout.replace(/\n$/, ''));
          if (data.stderr !== '') parts.push(`[stderr]\n${data.stderr.replace(/\n$/, '')}`);
          if (timedOut) {
            parts.push(
              `[Timed out after ${timeoutMs / 1000} s: the command and its child processes were killed. ` +
                'Pass a larger timeout_ms if it needs longer, or run something shorter.]',
            );
          } else if (aborted) parts.push('[Cancelled: the command and its child processes were killed.]');
          else if (exitCode === null) parts.push(`[Killed by ${exitSignal}]`);
          else parts.push(`[exit code ${exitCode}]`);
          resolve({ text: parts.join('\n'), data, isError: timedOut || aborted || exitCode !== 0 });
        });
      });
    },
  });
}
