import { spawn } from 'node:child_process';
import { type Logger, silentLogger } from '@shammah/provider';
import { TrainerFailedError, TrainingCancelledError } from './errors.js';
import type { TrainerCommand } from './trainer-location.js';

/** The progress protocol the trainer speaks on stdout (one JSON object a line). */
export const TRAINER_PROTOCOL = 'shammah-lora-progress/1';

/** Exit status of a trainer that stopped on SIGTERM (or because its parent went away). */
export const TRAINER_EXIT_CANCELLED = 143;

/** What the trainer is doing: deriving the base checkpoint, training, merging, exporting, publishing. */
export type TrainingPhase = 'base' | 'train' | 'merge' | 'export' | 'publish';

/** One event of the trainer's protocol, in camelCase. */
export type TrainerEvent =
  | { type: 'start'; protocol: string; pid: number; version: string }
  | { type: 'phase'; phase: TrainingPhase }
  | {
      type: 'progress';
      /** 1-based optimizer step. */
      step: number;
      totalSteps: number;
      /** Fractional epoch, e.g. 1.5. */
      epoch: number;
      /** Mean per-token loss of this step's examples. */
      loss: number | null;
      learningRate: number;
      elapsedSeconds: number;
      etaSeconds: number;
    }
  | { type: 'done'; version: string; dir: string; metrics: Record<string, unknown> }
  | { type: 'cancelled'; reason: string }
  | { type: 'error'; code: string; message: string };

/**
 * Parses one stdout line of the trainer. Returns undefined for a line that is not a protocol event
 * (the trainer sends logs to stderr, so that would be a bug worth logging, not a failure).
 */
export function parseTrainerLine(line: string): TrainerEvent | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object') return undefined;
  switch (raw.event) {
    case 'start':
      return {
        type: 'start',
        protocol: String(raw.protocol),
        pid: Number(raw.pid),
        version: String(raw.version),
      };
    case 'phase':
      return { type: 'phase', phase: raw.phase as TrainingPhase };
    case 'progress':
      return {
        type: 'progress',
        step: Number(raw.step),
        totalSteps: Number(raw.total_steps),
        epoch: Number(raw.epoch),
        loss: typeof raw.loss === 'number' ? raw.loss : null,
        learningRate: Number(raw.learning_rate),
        elapsedSeconds: Number(raw.elapsed_seconds),
        etaSeconds: Number(raw.eta_seconds),
      };
    case 'done':
      return {
        type: 'done',
        version: String(raw.version),
        dir: String(raw.dir),
        metrics: (raw.metrics ?? {}) as Record<string, unknown>,
      };
    case 'cancelled':
      return { type: 'cancelled', reason: String(raw.reason ?? 'cancelled') };
    case 'error':
      return { type: 'error', code: String(raw.code ?? 'unknown'), message: String(raw.message ?? '') };
    default:
      return undefined;
  }
}

/** How to run the trainer on one job file. */
export interface RunTrainerOptions {
  trainer: TrainerCommand;
  /** The job file (format `shammah-lora-job/1`). */
  jobPath: string;
  onEvent?: (event: TrainerEvent) => void;
  /** Aborting sends SIGTERM (the trainer stops cleanly), then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  /** Default 20 s. */
  killGraceMs?: number;
  /** Extra environment for the trainer. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** A running trainer process. */
export interface TrainerProcess {
  pid: number;
  /** Resolves with the `done` event; rejects with {@link TrainerFailedError} or {@link TrainingCancelledError}. */
  done: Promise<Extract<TrainerEvent, { type: 'done' }>>;
}

const STDERR_TAIL = 16 * 1024;

/**
 * Starts `python -m shammah_training.lora train JOB` in its own process group, streams its
 * protocol events, and settles when it exits. Everything the trainer starts (the ONNX exporter)
 * is killed with it, whatever way it ends.
 */
export function runTrainer(options: RunTrainerOptions): TrainerProcess {
  const log = (options.logger ?? silentLogger).child({ module: 'trainer-process' });
  const child = spawn(options.trainer.python, ['-m', 'shammah_training.lora', 'train', options.jobPath], {
    cwd: options.trainer.trainingDir,
    env: {
      ...process.env,
      PYTHONPATH: [options.trainer.trainingDir, process.env.PYTHONPATH].filter(Boolean).join(':'),
      PYTHONUNBUFFERED: '1',
      HF_HUB_OFFLINE: '1',
      TOKENIZERS_PARALLELISM: 'false',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl+C in the terminal does not reach it, and the whole group can be
    // killed at once.
    detached: process.platform !== 'win32',
  });
  const pid = child.pid ?? -1;
  let stderr = '';
  let last: TrainerEvent | undefined;
  let done: Extract<TrainerEvent, { type: 'done' }> | undefined;
  let failure: Extract<TrainerEvent, { type: 'error' }> | undefined;
  let cancelled: Extract<TrainerEvent, { type: 'cancelled' }> | undefined;
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (process.platform !== 'win32' && pid > 0) process.kill(-pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  const onAbort = () => {
    aborted = true;
    log.info({ pid }, 'cancelling training');
    child.kill('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 20_000);
    killTimer.unref();
  };

  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      if (line.trim() === '') continue;
      const event = parseTrainerLine(line);
      if (!event) {
        log.warn({ line: line.slice(0, 200) }, 'trainer wrote a line that is not a protocol event');
        continue;
      }
      last = event;
      if (event.type === 'done') done = event;
      if (event.type === 'error') failure = event;
      if (event.type === 'cancelled') cancelled = event;
      try {
        options.onEvent?.(event);
      } catch (error) {
        log.error({ error: (error as Error).message }, 'a training event listener threw');
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
    for (const line of chunk.split('\n')) if (line.trim()) log.debug({ pid }, line.trimEnd());
  });

  const finished = new Promise<Extract<TrainerEvent, { type: 'done' }>>((resolve, reject) => {
    child.on('error', (error) => {
      reject(
        new TrainerFailedError(
          `Could not start the trainer ${options.trainer.python}: ${error.message}`,
          { exitCode: null, signal: null, stderr },
          { cause: error },
        ),
      );
    });
    child.on('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      // Whatever the trainer left running (the exporter, after a SIGKILL) goes with it.
      killGroup('SIGKILL');
      if (exitCode === 0 && done) return resolve(done);
      if (cancelled || exitCode === TRAINER_EXIT_CANCELLED || (aborted && signal)) {
        return reject(
          new TrainingCancelledError(cancelled?.reason ?? (signal ? `killed by ${signal}` : 'stopped')),
        );
      }
      const how = signal ? `was killed by ${signal}` : `exited with status ${exitCode}`;
      const message = failure
        ? `Training failed (${failure.code}): ${failure.message}`
        : `The trainer ${how} during ${last?.type === 'phase' ? `the ${last.phase} phase` : last?.type === 'progress' ? `step ${last.step} of ${last.totalSteps}` : 'start-up'}. ` +
          `Nothing was published; the active model is unchanged.${stderr ? ` Its last output:\n${stderr.slice(-2000)}` : ''}`;
      reject(
        new TrainerFailedError(message, {
          ...(failure ? { trainerCode: failure.code } : {}),
          exitCode,
          signal,
          stderr,
        }),
      );
    });
  });
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  return { pid, done: finished };
}
