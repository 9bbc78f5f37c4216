import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ShammahConfig } from '@shammah/config';
import { type ChatMessage, contentText, type Logger, silentLogger } from '@shammah/provider';
import { type AdapterStore, createAdapterStore } from './adapter-store.js';
import { LockBusyError, NoExamplesError, TrainingInProgressError } from './errors.js';
import { FileLock, type FileLockOptions } from './file-lock.js';
import { locateTrainer, type TrainerCommand } from './trainer-location.js';
import { runTrainer } from './trainer-process.js';
import { createTrainingQueue, type TrainingQueue } from './training-queue.js';
import { type TrainingEvent, type TrainingReason, type TrainingResult, TrainingRun } from './training-run.js';
import type { WeightedExample } from './weighted-example.js';

/** The config's `[lora]` section. */
export type LoraSettings = ShammahConfig['lora'];

const DEFAULT_SETTINGS: LoraSettings = {
  auto_train: false,
  min_new_examples: 10,
  learn_from_teachers: false,
};

/** The base model the runtime serves, which adapters are trained on. */
export interface BaseModel {
  /** Its id, e.g. `HuggingFaceTB/SmolLM2-135M-Instruct` (recorded in each adapter's manifest). */
  modelId: string;
  /** The model directory the runtime loads (for a Hub model, its cache snapshot). */
  dir: string;
  /** Default: the snapshot directory's name when `dir` is a Hub cache snapshot. */
  revision?: string;
  /**
   * A PyTorch checkpoint with the same weights. Needed only when `dir` was not made by Shammah's
   * converter (it has no `shammah_manifest.json` naming its source); otherwise derived from that source.
   */
  checkpoint?: string;
}

/** Training settings beyond the config's `[lora]` section. Unset ones take the trainer's defaults. */
export interface TrainingHyperparameters {
  /** Default: config `epochs`, else 3. */
  epochs?: number;
  /** Default: config `learning_rate`, else 5e-4. */
  learningRate?: number;
  /** Default: config `rank`, else 8. */
  rank?: number;
  /** Default: config `alpha`, else 16. */
  alpha?: number;
  dropout?: number;
  /** Default: the attention projections `q_proj`, `k_proj`, `v_proj`, `o_proj`. */
  targetModules?: string[];
  /** Default 4. */
  batchSize?: number;
  /** Tokens per example; longer conversations lose their oldest turns. Default 1024. */
  maxLength?: number;
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  seed?: number;
}

/** How many examples are waiting to be trained on. */
export interface PendingExamples {
  /** Examples in the queue. */
  total: number;
  /** Examples the newest adapter was not trained on. */
  new: number;
  /** Their summed weight. */
  newWeight: number;
  /** `min_new_examples` from the settings. */
  threshold: number;
  /** Whether the policy says it is time to train. */
  due: boolean;
}

/** Decides when enough has arrived to train. Default: `new >= min_new_examples`. */
export type TrainingPolicy = (pending: Omit<PendingExamples, 'due'>, settings: LoraSettings) => boolean;

/** What the coordinator is doing. */
export type TrainingStatus =
  | { state: 'idle' }
  | { state: 'training'; run: TrainingRun }
  | { state: 'training-elsewhere'; pid: number; hostname: string; since: string };

/** Settings of a {@link TrainingCoordinator}. */
export interface TrainingCoordinatorOptions {
  base: BaseModel;
  /** The config's `[lora]` section. */
  settings?: Partial<LoraSettings>;
  /** Shammah's home. Default: `SHAMMAH_HOME`, else `~/.shammah`. */
  home?: string;
  queue?: TrainingQueue;
  store?: AdapterStore;
  /** Where the Python trainer is. Default: found by {@link locateTrainer}. */
  trainer?: Partial<TrainerCommand>;
  hyperparameters?: TrainingHyperparameters;
  /**
   * ONNX variants to export besides the fp32 graph (which is always written, and exact). Default
   * none. The converter's names: `fused_fp32` (exact, faster to decode), `q4`, `int8` (re-quantizing
   * the merged weights costs quality; the converter measures it and the runtime skips failing ones).
   */
  variants?: string[];
  /**
   * CPU threads for training. Default: half the cores, as training runs beside the model that answers
   * the user (on a busy 2-core machine, 2 threads made each step 25 times slower than 1).
   */
  threads?: number;
  /** The trainer's niceness (lower CPU priority). Default 10. */
  nice?: number;
  /** Default `auto`: a CUDA GPU (or Apple's MPS) when present, else the CPU. */
  device?: 'auto' | 'cpu' | 'cuda' | 'mps';
  /** Where base checkpoints derived from the runtime model are kept. Default `<adapters>/_base`. */
  baseCacheDir?: string;
  /** Make each new adapter the served model. Default true. */
  activate?: boolean;
  /** Keep this many adapters (besides the active one); older ones are deleted. Default 3. */
  keepAdapters?: number;
  policy?: TrainingPolicy;
  /** Extra environment for the trainer process. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** Options of one {@link TrainingCoordinator.train} call. */
export interface TrainOptions {
  /** Overrides the coordinator's `activate`. */
  activate?: boolean;
  /** Called with every event of this training. */
  onEvent?: (event: TrainingEvent) => void;
  /** Cancels the training. */
  signal?: AbortSignal;
  /** Default `manual`. */
  reason?: TrainingReason;
}

const defaultPolicy: TrainingPolicy = (pending, settings) =>
  pending.new > 0 && pending.new >= settings.min_new_examples;

/** A message as the trainer reads it: a role and plain text. */
function trainingMessage(message: ChatMessage): { role: string; content: string } {
  if (message.role === 'tool') {
    return { role: 'tool', content: message.content.map((part) => contentText(part.content)).join('\n') };
  }
  return { role: message.role, content: contentText(message.content) };
}

/** The line the trainer reads for one example (`shammah_training.lora.examples`). */
function trainingLine(example: WeightedExample): string {
  return `${JSON.stringify({
    id: example.id,
    weight: example.weight,
    messages: example.messages.map(trainingMessage),
    response: example.response,
  })}\n`;
}

function snapshotRevision(dir: string): string | undefined {
  return basename(dirname(dir)) === 'snapshots' ? basename(dir) : undefined;
}

/**
 * Starts LoRA trainings: on demand ({@link train}), or when enough new examples have arrived
 * ({@link maybeTrain}, {@link record}; needs `auto_train`). Training runs in a Python subprocess, so
 * neither the REPL nor the daemon waits for it; one runs at a time across all Shammah processes (a
 * lock file). A finished training publishes a new adapter version and, by default, activates it.
 *
 * @example
 * ```ts
 * import { createTrainingCoordinator } from '@shammah/lora';
 *
 * const coordinator = createTrainingCoordinator({
 *   base: { modelId: 'HuggingFaceTB/SmolLM2-135M-Instruct', dir: snapshotDir },
 *   settings: config.lora,
 *   logger,
 * });
 * const run = await coordinator.train();
 * for await (const event of run.events()) {
 *   if (event.type === 'progress') console.log(`step ${event.step}/${event.totalSteps} loss ${event.loss}`);
 * }
 * const { adapter } = await run.result; // adapter.modelDir is what the runtime now loads
 * ```
 */
export class TrainingCoordinator {
  readonly queue: TrainingQueue;
  readonly store: AdapterStore;
  readonly settings: LoraSettings;
  readonly #options: TrainingCoordinatorOptions;
  readonly #log: Logger;
  readonly #policy: TrainingPolicy;
  #current: TrainingRun | undefined;
  #starting = false;

  constructor(options: TrainingCoordinatorOptions) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger).child({ module: 'training-coordinator' });
    this.settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this.queue =
      options.queue ??
      createTrainingQueue({ ...(options.home ? { home: options.home } : {}), logger: this.#log });
    this.store =
      options.store ??
      createAdapterStore({ ...(options.home ? { home: options.home } : {}), logger: this.#log });
    this.#policy = options.policy ?? defaultPolicy;
  }

  /** The lock file that keeps trainings one at a time across processes. */
  get lockPath(): string {
    return join(this.store.dir, '.training.lock');
  }

  /** The training running in this process, if any. */
  get current(): TrainingRun | undefined {
    return this.#current;
  }

  /** Idle, training here (with the run), or training in another process (the daemon, another CLI). */
  async status(): Promise<TrainingStatus> {
    if (this.#current) return { state: 'training', run: this.#current };
    const holder = await FileLock.inspect(this.lockPath);
    if (holder) {
      return {
        state: 'training-elsewhere',
        pid: holder.pid,
        hostname: holder.hostname,
        since: holder.acquiredAt,
      };
    }
    return { state: 'idle' };
  }

  /** How many examples the newest adapter has not seen, and whether the policy says to train. */
  async pending(): Promise<PendingExamples> {
    const { examples } = await this.queue.read();
    const latest = await this.store.latest();
    const trained = new Set(latest?.manifest.examples.ids ?? []);
    const fresh = examples.filter((example) => !trained.has(example.id));
    const counts = {
      total: examples.length,
      new: fresh.length,
      newWeight: fresh.reduce((sum, example) => sum + example.weight, 0),
      threshold: this.settings.min_new_examples,
    };
    return { ...counts, due: this.#policy(counts, this.settings) };
  }

  /**
   * Appends an example to the queue and, with `auto_train`, starts a training in the background when
   * the policy says enough has arrived. Returns at once; `training` is the run it started.
   */
  async record(example: WeightedExample): Promise<{ example: WeightedExample; training?: TrainingRun }> {
    const stored = await this.queue.append(example);
    const training = await this.maybeTrain();
    return { example: stored, ...(training ? { training } : {}) };
  }

  /**
   * Starts a training in the background if `auto_train` is on, none is running anywhere, and the
   * policy says it is due. Returns the run, or undefined. Never throws for a busy trainer.
   */
  async maybeTrain(): Promise<TrainingRun | undefined> {
    if (!this.settings.auto_train || this.#current || this.#starting) return undefined;
    const pending = await this.pending();
    if (!pending.due) return undefined;
    try {
      const run = await this.train({ reason: 'auto' });
      this.#log.info({ version: run.version, newExamples: pending.new }, 'automatic training started');
      return run;
    } catch (error) {
      if (error instanceof TrainingInProgressError) return undefined;
      this.#log.error({ error: (error as Error).message }, 'automatic training could not start');
      return undefined;
    }
  }

  /**
   * Starts a training on every example in the queue, now. Resolves once the trainer is started;
   * follow it with the returned run's `events()` and `result`. Throws {@link TrainingInProgressError}
   * when one is already running (here or in another process), {@link NoExamplesError} for an empty queue.
   */
  async train(options: TrainOptions = {}): Promise<TrainingRun> {
    if (this.#current || this.#starting) {
      throw new TrainingInProgressError(
        `A training (${this.#current?.version ?? 'starting'}) is already running in this process; wait for it or cancel it.`,
        process.pid,
      );
    }
    this.#starting = true;
    let lock: FileLock | undefined;
    let jobDir: string | undefined;
    try {
      const trainer = await locateTrainer(this.#options.trainer);
      lock = await this.#lock({ purpose: 'training' });
      const { examples, skipped } = await this.queue.read();
      if (skipped.length > 0)
        this.#log.warn({ skipped: skipped.length }, 'training without unreadable queue lines');
      if (examples.length === 0) throw new NoExamplesError(this.queue.path);
      const version = await this.store.nextVersion();
      jobDir = await mkdtemp(join(tmpdir(), 'shammah-lora-job-'));
      const jobPath = join(jobDir, 'job.json');
      await writeFile(join(jobDir, 'examples.jsonl'), examples.map(trainingLine).join(''));
      await writeFile(
        jobPath,
        `${JSON.stringify(this.#job(version, join(jobDir, 'examples.jsonl')), null, 2)}\n`,
      );
      const controller = new AbortController();
      if (options.signal) {
        if (options.signal.aborted) controller.abort();
        else options.signal.addEventListener('abort', () => controller.abort(), { once: true });
      }
      const heldLock = lock;
      const heldJobDir = jobDir;
      const run = new TrainingRun(
        { version, reason: options.reason ?? 'manual', examples: examples.length, controller },
        (self) =>
          this.#run(self, trainer, jobPath, controller.signal, options).finally(async () => {
            this.#current = undefined;
            await rm(heldJobDir, { recursive: true, force: true });
            await heldLock.release();
          }),
      );
      if (options.onEvent) run.onEvent(options.onEvent);
      this.#current = run;
      lock = undefined;
      jobDir = undefined;
      this.#log.info({ version, examples: examples.length, reason: run.reason }, 'training started');
      return run;
    } finally {
      this.#starting = false;
      if (jobDir) await rm(jobDir, { recursive: true, force: true });
      await lock?.release();
    }
  }

  async #lock(options: FileLockOptions): Promise<FileLock> {
    try {
      return await FileLock.acquire(this.lockPath, options);
    } catch (error) {
      if (error instanceof LockBusyError) {
        throw new TrainingInProgressError(
          `Another Shammah process (pid ${error.holder?.pid ?? 'unknown'}) is training since ${error.holder?.acquiredAt ?? 'a while'}; wait for it to finish.`,
          error.holder?.pid,
          { cause: error },
        );
      }
      throw error;
    }
  }

  #job(version: string, examplesPath: string): Record<string, unknown> {
    const { base, hyperparameters: hp = {} } = this.#options;
    const settings = this.settings;
    const revision = base.revision ?? snapshotRevision(base.dir);
    return {
      format: 'shammah-lora-job/1',
      version,
      adapters_dir: this.store.dir,
      examples: examplesPath,
      base: {
        model_id: base.modelId,
        revision: revision ?? null,
        dir: base.dir,
        checkpoint: base.checkpoint ?? null,
        cache_dir: this.#options.baseCacheDir ?? join(this.store.dir, '_base'),
      },
      hyperparameters: {
        epochs: hp.epochs ?? settings.epochs,
        learning_rate: hp.learningRate ?? settings.learning_rate,
        rank: hp.rank ?? settings.rank,
        alpha: hp.alpha ?? settings.alpha,
        dropout: hp.dropout,
        target_modules: hp.targetModules,
        batch_size: hp.batchSize,
        max_length: hp.maxLength,
        max_steps: hp.maxSteps,
        seed: hp.seed,
      },
      export: { variants: this.#options.variants ?? [] },
      threads: this.#options.threads ?? Math.max(1, Math.floor(availableParallelism() / 2)),
      nice: this.#options.nice ?? 10,
      device: this.#options.device ?? 'auto',
    };
  }

  async #run(
    run: TrainingRun,
    trainer: TrainerCommand,
    jobPath: string,
    signal: AbortSignal,
    options: TrainOptions,
  ): Promise<TrainingResult> {
    const started = performance.now();
    const process = runTrainer({
      trainer,
      jobPath,
      signal,
      onEvent: (event) => run.emit(event),
      logger: this.#log,
      ...(this.#options.env ? { env: this.#options.env } : {}),
    });
    run.setPid(process.pid);
    try {
      const done = await process.done;
      const adapter = await this.store.get(done.version);
      const activate = options.activate ?? this.#options.activate ?? true;
      let result = adapter;
      if (activate) {
        result = await this.store.activate(done.version);
        run.emit({ type: 'activated', version: done.version, modelDir: result.modelDir });
      }
      const pruned = await this.store.prune(this.#options.keepAdapters ?? 3);
      this.#log.info(
        {
          version: done.version,
          activated: activate,
          seconds: Math.round((performance.now() - started) / 1000),
        },
        'training finished',
      );
      return {
        adapter: result,
        activated: activate,
        examples: run.examples,
        durationMs: performance.now() - started,
        pruned,
      };
    } catch (error) {
      this.#log.error({ version: run.version, error: (error as Error).message }, 'training failed');
      throw error;
    }
  }

  /** Cancels the running training (if any) and waits until it has stopped. */
  async cancel(): Promise<void> {
    const run = this.#current;
    if (!run) return;
    run.cancel();
    await run.result.catch(() => undefined);
  }
}

/** Creates a {@link TrainingCoordinator}. */
export function createTrainingCoordinator(options: TrainingCoordinatorOptions): TrainingCoordinator {
  return new TrainingCoordinator(options);
}
