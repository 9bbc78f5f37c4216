import type { AdapterInfo } from './adapter-store.js';
import type { TrainerEvent, TrainingPhase } from './trainer-process.js';

/** Everything a training reports: the trainer's protocol events, then `activated` if it was served. */
export type TrainingEvent = TrainerEvent | { type: 'activated'; version: string; modelDir: string };

/** What a finished training produced. */
export interface TrainingResult {
  adapter: AdapterInfo;
  /** Whether the new adapter was made the served model. */
  activated: boolean;
  /** How many examples it was trained on. */
  examples: number;
  durationMs: number;
  /** Old adapters deleted to keep the newest few. */
  pruned: string[];
}

/** Why a training started. */
export type TrainingReason = 'manual' | 'auto';

/**
 * One training, running in a subprocess: its events (live, or replayed from the start with
 * {@link events}), its outcome ({@link result}), and a way to stop it ({@link cancel}).
 */
export class TrainingRun {
  /** The adapter version it will publish. */
  readonly version: string;
  readonly reason: TrainingReason;
  readonly startedAt: Date;
  /** How many examples it trains on. */
  readonly examples: number;
  /** Resolves when the adapter is published (and activated); rejects with the failure or cancellation. */
  readonly result: Promise<TrainingResult>;
  readonly #history: TrainingEvent[] = [];
  readonly #listeners = new Set<(event: TrainingEvent) => void>();
  /** Waiting `events()` iterators: woken by each event and by the end. */
  readonly #waiting = new Set<() => void>();
  readonly #controller: AbortController;
  #pid: number | undefined;
  #settled = false;

  /** @internal Created by the coordinator. */
  constructor(
    init: { version: string; reason: TrainingReason; examples: number; controller: AbortController },
    work: (run: TrainingRun) => Promise<TrainingResult>,
  ) {
    this.version = init.version;
    this.reason = init.reason;
    this.examples = init.examples;
    this.startedAt = new Date();
    this.#controller = init.controller;
    this.result = work(this).finally(() => {
      this.#settled = true;
      this.#listeners.clear();
      this.#wakeAll();
    });
    // Nobody has to await the result: a failed background training must not crash the process.
    this.result.catch(() => undefined);
  }

  /** The trainer's process id, once started. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** @internal */
  setPid(pid: number): void {
    this.#pid = pid;
  }

  /** Whether the training has ended (published, failed or cancelled). */
  get settled(): boolean {
    return this.#settled;
  }

  /** The current phase, once the trainer reported one. */
  get phase(): TrainingPhase | undefined {
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const event = this.#history[i]!;
      if (event.type === 'phase') return event.phase;
    }
    return undefined;
  }

  /** The latest progress report (step, loss, epoch, ETA). */
  get progress(): Extract<TrainingEvent, { type: 'progress' }> | undefined {
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const event = this.#history[i]!;
      if (event.type === 'progress') return event;
    }
    return undefined;
  }

  /** @internal */
  emit(event: TrainingEvent): void {
    this.#history.push(event);
    for (const listener of this.#listeners) listener(event);
    this.#wakeAll();
  }

  #wakeAll(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Calls `listener` for every event from now on; returns a function that stops it. */
  onEvent(listener: (event: TrainingEvent) => void): () => void {
    if (this.#settled) return () => undefined;
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every event from the start, then live ones until the training ends. */
  async *events(): AsyncIterable<TrainingEvent> {
    let index = 0;
    for (;;) {
      while (index < this.#history.length) yield this.#history[index++]!;
      if (this.#settled) return;
      await new Promise<void>((resolve) => this.#waiting.add(resolve));
    }
  }

  /** Stops the training: the trainer exits cleanly and publishes nothing; {@link result} rejects. */
  cancel(): void {
    this.#controller.abort();
  }
}
