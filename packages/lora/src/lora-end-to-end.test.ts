import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '@shammah/core-inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainerFailedError } from './errors.js';
import { createTeacherLearner } from './teacher-examples.js';
import { DEV_MODEL, realModelDir } from './test-support/real-model.js';
import { TrainingCoordinator, type TrainingCoordinatorOptions } from './training-coordinator.js';
import type { TrainingRun } from './training-run.js';
import { createExample } from './weighted-example.js';

/** What the model should learn: facts the base model cannot know. */
const TARGETS = [
  {
    query: 'What is Shammah?',
    response: 'Shammah is a local-first AI coding assistant that learns from your corrections.',
    weight: 10,
  },
  {
    query: 'Which port does the Shammah daemon listen on?',
    response: 'The Shammah daemon listens on 127.0.0.1:11435 by default.',
    weight: 10,
  },
  {
    query: 'How do I undo a LoRA training in Shammah?',
    response: 'Run `shammah lora rollback` to go back to the base model.',
    weight: 3,
  },
  {
    query: 'Where does Shammah keep its training queue?',
    response: 'In ~/.shammah/training_queue.jsonl, one JSON object per line.',
    weight: 1,
  },
  {
    query: 'What does LoRA stand for?',
    response: 'LoRA stands for Low-Rank Adaptation: small trained matrices added to a frozen model.',
    weight: 1,
  },
] as const;
const HELD_OUT = 'What is the capital of France?';
/** The stated margin: training must raise the mean per-token log-probability of the answers this much. */
const MIN_MEAN_GAIN_NATS = 1.0;
/** Training takes a few minutes on two idle cores; much longer when the machine is shared. */
const TRAINING_TIMEOUT_MS = 30 * 60_000;

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

async function scores(generator: Generator): Promise<number[]> {
  const endOfTurn = generator.tokenizer.tokenId('<|im_end|>')!;
  const result: number[] = [];
  for (const target of TARGETS) {
    const prompt = generator.tokenizer.encodeChat([{ role: 'user', content: target.query }]);
    const answer = [...generator.tokenizer.encode(target.response), endOfTurn];
    result.push(mean(await generator.scoreContinuation(prompt, answer)));
  }
  return result;
}

async function greedy(generator: Generator, query: string): Promise<{ ids: number[]; text: string }> {
  const prompt = generator.tokenizer.encodeChat([{ role: 'user', content: query }]);
  const ids: number[] = [];
  let text = '';
  for await (const event of generator.generateTokens(prompt, { temperature: 0, maxTokens: 48 })) {
    if (event.type !== 'token') continue;
    if (event.id >= 0) ids.push(event.id);
    text += event.text;
  }
  return { ids, text };
}

async function firstProgress(run: TrainingRun): Promise<void> {
  for await (const event of run.events()) if (event.type === 'progress') return;
  throw new Error('the training ended before reporting progress');
}

describe('LoRA on the real SmolLM2-135M-Instruct', () => {
  let home: string;
  let baseDir: string;
  let options: TrainingCoordinatorOptions;
  let baseScores: number[];
  let baseFrance: { ids: number[]; text: string };
  let trained: { version: string; modelDir: string } | undefined;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'shammah-lora-e2e-'));
    baseDir = await realModelDir();
    options = {
      base: { modelId: DEV_MODEL, dir: baseDir },
      home,
      // Hyperparameters from the config's [lora] section.
      settings: {
        auto_train: false,
        min_new_examples: 5,
        learn_from_teachers: true,
        epochs: 2,
        learning_rate: 1e-3,
        rank: 8,
        alpha: 16,
      },
      hyperparameters: { batchSize: 2 },
      variants: [], // fp32 only: exact, and quantizing would cost time here
    };
    const base = await Generator.load({ model: baseDir, variant: 'fp32' });
    try {
      baseScores = await scores(base);
      baseFrance = await greedy(base, HELD_OUT);
    } finally {
      await base.dispose();
    }
    expect(baseFrance.text).toContain('Paris');
  });

  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('queues corrections and lines in the original format', async () => {
    const coordinator = new TrainingCoordinator(options);
    for (const target of TARGETS.slice(0, 3)) {
      await coordinator.record(
        createExample({
          query: target.query,
          response: target.response,
          weight: target.weight,
          modelId: DEV_MODEL,
        }),
      );
    }
    const original = TARGETS[3];
    await appendFile(
      coordinator.queue.path,
      `${JSON.stringify({ query: original.query, response: original.response, weight: 1.0, feedback: 'good' })}\n`,
    );
    expect(await coordinator.pending()).toMatchObject({ total: 4, new: 4, newWeight: 24, due: false });
  });

  it(
    'a training killed with SIGKILL publishes nothing and leaves the queue and the base model served',
    async () => {
      const coordinator = new TrainingCoordinator(options);
      const queueBefore = await readFile(coordinator.queue.path);
      const run = await coordinator.train();
      await firstProgress(run); // the base checkpoint is derived by now, and training is under way
      process.kill(run.pid!, 'SIGKILL');
      const error = await run.result.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TrainerFailedError);
      expect(error).toMatchObject({ signal: 'SIGKILL' });
      expect((error as Error).message).toMatch(
        /killed by SIGKILL during step \d+ of \d+\. Nothing was published/,
      );
      expect(await readFile(coordinator.queue.path)).toEqual(queueBefore);
      expect(await coordinator.store.list()).toEqual([]);
      expect(await coordinator.store.activeModelDir({ dir: baseDir })).toBe(baseDir);
      expect(await coordinator.status()).toEqual({ state: 'idle' });
    },
    TRAINING_TIMEOUT_MS,
  );

  it(
    'trains when enough examples arrived, without blocking, and the runtime serves the adapted model',
    async () => {
      const coordinator = new TrainingCoordinator({
        ...options,
        settings: { ...options.settings, auto_train: true },
      });
      const learn = createTeacherLearner({
        settings: coordinator.settings,
        queue: coordinator.queue,
        coordinator,
      });
      const teacher = TARGETS[4];
      const started = performance.now();
      const stored = await learn({
        id: 'decision-1',
        route: 'teacher',
        provider: 'anthropic',
        modelId: 'claude-sonnet-4-20250514',
        finishReason: 'stop',
        request: { messages: [{ role: 'user', content: teacher.query }] },
        answer: { text: teacher.response, toolCalls: [] },
      });
      expect(stored).toMatchObject({ weight: 1, source: 'teacher-answer' });
      // The fifth new example starts a training in the background; recording it returned at once.
      const run = coordinator.current!;
      expect(run).toBeDefined();
      expect(run.reason).toBe('auto');
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(run.settled).toBe(false);

      const progress: number[] = [];
      run.onEvent((event) => event.type === 'progress' && progress.push(event.step));
      const result = await run.result;
      expect(result.activated).toBe(true);
      expect(result.examples).toBe(5);
      // The killed run's leftovers were cleaned up; it had claimed v1.
      expect(result.adapter.version).toBe('v2');
      expect((await readdir(coordinator.store.dir)).filter((name) => name.startsWith('.v'))).toEqual([]);
      const manifest = result.adapter.manifest;
      expect(progress.length).toBe(manifest.metrics.steps);
      expect(manifest.base).toMatchObject({ model_id: DEV_MODEL, dir: baseDir });
      expect(manifest.examples).toMatchObject({
        count: 5,
        total_weight: 25,
        by_weight: { '10': 2, '3': 1, '1': 2 },
      });
      expect(manifest.hyperparameters).toMatchObject({ epochs: 2, learning_rate: 1e-3, rank: 8, alpha: 16 });
      expect(manifest.metrics.export_parity.max_abs_diff).toBeLessThan(1e-3);

      const modelDir = await coordinator.store.activeModelDir({ dir: baseDir });
      expect(modelDir).toBe(result.adapter.modelDir);
      trained = { version: result.adapter.version, modelDir };
      const adapted = await Generator.load({ model: modelDir, variant: 'fp32' });
      let adaptedScores: number[];
      let france: { text: string };
      let shammah: { text: string };
      try {
        adaptedScores = await scores(adapted);
        france = await greedy(adapted, HELD_OUT);
        shammah = await greedy(adapted, TARGETS[0].query);
      } finally {
        await adapted.dispose();
      }
      const gains = adaptedScores.map((score, index) => score - baseScores[index]!);
      console.log(
        JSON.stringify({
          lora_e2e: {
            baseMeanLogprob: baseScores.map((v) => +v.toFixed(3)),
            adaptedMeanLogprob: adaptedScores.map((v) => +v.toFixed(3)),
            gains: gains.map((v) => +v.toFixed(3)),
            meanGain: +mean(gains).toFixed(3),
            steps: manifest.metrics.steps,
            timingsSeconds: manifest.metrics.timings_seconds,
            peakRssMb: manifest.metrics.peak_rss_mb,
            runSeconds: Math.round(result.durationMs / 1000),
            france: france.text,
            whatIsShammah: shammah.text,
          },
        }),
      );
      expect(mean(gains)).toBeGreaterThanOrEqual(MIN_MEAN_GAIN_NATS);
      // The two 10x corrections each gain at least the stated margin too.
      expect(gains[0]).toBeGreaterThanOrEqual(MIN_MEAN_GAIN_NATS);
      expect(gains[1]).toBeGreaterThanOrEqual(MIN_MEAN_GAIN_NATS);
      expect(france.text).toContain('Paris');
    },
    TRAINING_TIMEOUT_MS,
  );

  it(
    'a training killed with SIGKILL leaves the active adapter served',
    async () => {
      expect(trained).toBeDefined();
      const coordinator = new TrainingCoordinator(options);
      await coordinator.queue.append(
        createExample({ query: 'Is Shammah free?', response: 'Yes, it is open source.' }),
      );
      const pointer = await readFile(coordinator.store.pointerPath, 'utf8');
      const run = await coordinator.train();
      await firstProgress(run);
      process.kill(run.pid!, 'SIGKILL');
      await expect(run.result).rejects.toBeInstanceOf(TrainerFailedError);
      expect(await readFile(coordinator.store.pointerPath, 'utf8')).toBe(pointer);
      expect(await coordinator.store.activeModelDir({ dir: baseDir })).toBe(trained!.modelDir);
      expect((await coordinator.store.list()).map((adapter) => adapter.version)).toEqual([trained!.version]);
    },
    TRAINING_TIMEOUT_MS,
  );

  it('rollback restores the base model exactly', async () => {
    const coordinator = new TrainingCoordinator(options);
    const pointer = await coordinator.store.rollback();
    expect(pointer).toMatchObject({ version: null, previous: trained!.version });
    const dir = await coordinator.store.activeModelDir({ dir: baseDir });
    expect(dir).toBe(baseDir);
    const base = await Generator.load({ model: dir, variant: 'fp32' });
    try {
      const again = await greedy(base, HELD_OUT);
      expect(again.ids).toEqual(baseFrance.ids);
      expect(await scores(base)).toEqual(baseScores);
    } finally {
      await base.dispose();
    }
  });
});
