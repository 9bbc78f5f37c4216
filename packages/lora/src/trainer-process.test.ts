import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrainerFailedError, TrainerNotFoundError, TrainingCancelledError } from './errors.js';
import { realModelDir } from './test-support/real-model.js';
import { locateTrainer } from './trainer-location.js';
import { parseTrainerLine, runTrainer, type TrainerEvent } from './trainer-process.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shammah-trainer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function job(fields: Record<string, unknown>): Promise<string> {
  const examples = join(dir, 'examples.jsonl');
  await writeFile(
    examples,
    '{"id":"a","weight":10,"messages":[{"role":"user","content":"Hi"}],"response":"Hello."}\n',
  );
  const path = join(dir, 'job.json');
  await writeFile(
    path,
    JSON.stringify({
      format: 'shammah-lora-job/1',
      version: 'v1',
      adapters_dir: join(dir, 'adapters'),
      examples,
      export: { variants: [] },
      threads: 1,
      ...fields,
    }),
  );
  return path;
}

describe('trainer protocol', () => {
  it('parses every event into camelCase and ignores what is not an event', () => {
    expect(
      parseTrainerLine(
        '{"event":"progress","step":3,"total_steps":40,"epoch":0.25,"loss":2.5,"learning_rate":0.001,"elapsed_seconds":4.2,"eta_seconds":52}',
      ),
    ).toEqual({
      type: 'progress',
      step: 3,
      totalSteps: 40,
      epoch: 0.25,
      loss: 2.5,
      learningRate: 0.001,
      elapsedSeconds: 4.2,
      etaSeconds: 52,
    });
    expect(parseTrainerLine('{"event":"progress","step":1,"total_steps":1,"loss":null}')).toMatchObject({
      loss: null,
    });
    expect(parseTrainerLine('{"event":"phase","phase":"export"}')).toEqual({
      type: 'phase',
      phase: 'export',
    });
    expect(parseTrainerLine('{"event":"error","code":"bad_job","message":"m"}')).toEqual({
      type: 'error',
      code: 'bad_job',
      message: 'm',
    });
    expect(parseTrainerLine('Loading weights: 100%')).toBeUndefined();
    expect(parseTrainerLine('{"event":"mystery"}')).toBeUndefined();
  });
});

describe('runTrainer (the real Python trainer)', () => {
  it('finds the trainer in this checkout, and says how to set it up when it is missing', async () => {
    const trainer = await locateTrainer();
    expect(trainer.trainingDir).toMatch(/training$/);
    expect(trainer.python).toMatch(/\.venv\/bin\/python$/);
    await expect(locateTrainer({ trainingDir: dir })).rejects.toThrow(TrainerNotFoundError);
    await expect(locateTrainer({ trainingDir: dir })).rejects.toThrow(
      /SHAMMAH_TRAINING_DIR.*setup-python\.sh/,
    );
    await expect(locateTrainer({ python: join(dir, 'nope') })).rejects.toThrow(/SHAMMAH_TRAINING_PYTHON/);
  });

  it("reports the trainer's error code and message", async () => {
    const trainer = await locateTrainer();
    await mkdir(join(dir, 'model'));
    const events: TrainerEvent[] = [];
    const run = runTrainer({
      trainer,
      jobPath: await job({ base: { model_id: 'x/y', dir: join(dir, 'model') } }),
      onEvent: (event) => events.push(event),
    });
    const error = await run.done.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TrainerFailedError);
    expect(error).toMatchObject({ code: 'lora_trainer_failed', trainerCode: 'base_model', exitCode: 1 });
    expect((error as Error).message).toMatch(/has no shammah_manifest\.json.*base\.checkpoint/);
    expect(events.map((event) => event.type)).toEqual(['start', 'phase', 'error']);
    expect(events[0]).toMatchObject({ protocol: 'shammah-lora-progress/1', pid: run.pid, version: 'v1' });
  });

  it('cancels cleanly on abort: no adapter, no half-built base checkpoint', async () => {
    const trainer = await locateTrainer();
    const controller = new AbortController();
    const cacheDir = join(dir, 'base-cache');
    const run = runTrainer({
      trainer,
      jobPath: await job({
        base: {
          model_id: 'HuggingFaceTB/SmolLM2-135M-Instruct',
          dir: await realModelDir(),
          cache_dir: cacheDir,
        },
      }),
      signal: controller.signal,
      // Abort while it derives the base checkpoint from the GGUF (a step of many seconds).
      onEvent: (event) => event.type === 'phase' && event.phase === 'base' && controller.abort(),
    });
    await expect(run.done).rejects.toThrow(TrainingCancelledError);
    await expect(run.done).rejects.toThrow(/received SIGTERM.*unchanged/);
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
    expect(await readdir(join(dir, 'adapters'))).toEqual([]);
  });
});
