// The learning loop over HTTP: the daemon on 127.0.0.1 with the real SmolLM2 as its local model and a
// teacher (a real HTTP server replaying a recorded OpenAI stream, since a cloud model cannot run here),
// routed by @shammah/router with RoutingLearning persisted in a temp home. A scripted sequence of
// POST /v1/feedback moves a category from the local model to the teacher and back, each rating lands
// in the LoRA training queue, and /v1/status, /v1/training/status and /metrics show it all.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { WorkerGenerator } from '@shammah/core-inference';
import { createTrainingCoordinator, decodeExampleLine } from '@shammah/lora';
import { createRouter, RoutingLearning } from '@shammah/router';
import { createOpenAITeacher } from '@shammah/teachers';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  createDaemon,
  type Daemon,
  type feedbackResponseSchema,
  type statusSchema,
  type trainingStatusSchema,
} from '../src/index.js';
import { eventually, metric } from './support/metrics.js';
import { OpenAIStandIn } from './support/openai-stand-in.js';
import { DEV_MODEL, loadRealModel, realModelDir } from './support/real-model.js';

let home: string;
let standIn: OpenAIStandIn;
let generator: WorkerGenerator;
let learning: RoutingLearning;
let daemon: Daemon;
let url: string;
let openai: OpenAI;

const DEBUG_QUESTION = 'Why does my script crash?';

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'shammah-daemon-feedback-'));
  standIn = await OpenAIStandIn.start({ answer: 'text' });
  generator = await loadRealModel();
  // Every second request of an escalated category probes the local model, so the way back is short.
  learning = await RoutingLearning.open({ path: join(home, 'router_stats.json'), probeEvery: 2 });
  const coordinator = createTrainingCoordinator({
    base: { modelId: DEV_MODEL, dir: await realModelDir() },
    home,
  });
  daemon = createDaemon({
    local: generator,
    teachers: [createOpenAITeacher({ baseURL: standIn.url, apiKey: 'test-key', model: 'gpt-4.1' })],
    route: (models) => createRouter({ ...models, learning }),
    training: { coordinator, learnFromTeachers: true },
    port: 0,
    defaultMetrics: false,
  });
  url = (await daemon.listen()).url;
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await daemon?.close();
  await learning?.close();
  await generator?.dispose();
  await standIn?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

async function ask(content: string, model = 'shammah') {
  const { data, response } = await openai.chat.completions
    .create({ model, messages: [{ role: 'user', content }], max_tokens: 3, temperature: 0 })
    .withResponse();
  return {
    text: data.choices[0]!.message.content ?? '',
    route: response.headers.get('x-shammah-route'),
    reason: response.headers.get('x-shammah-reason'),
  };
}

type FeedbackAnswer = z.infer<typeof feedbackResponseSchema> & { error: { message: string; type: string } };
type Status = z.infer<typeof statusSchema>;
type Category = NonNullable<Status['learning']>['categories'][number];

async function feedback(body: unknown): Promise<{ status: number; body: FeedbackAnswer }> {
  const response = await fetch(`${url}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as FeedbackAnswer };
}

async function status(): Promise<Status> {
  return (await (await fetch(`${url}/v1/status`)).json()) as Status;
}

async function category(name: string): Promise<Category | undefined> {
  return (await status()).learning?.categories.find((entry) => entry.name === name);
}

async function queued(source?: 'user-correction' | 'teacher-answer') {
  const text = await readFile(join(home, 'training_queue.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => decodeExampleLine(line))
    .filter((example) => source === undefined || example.source === source);
}

describe('feedback moves a category to the teacher and back', () => {
  it('answers locally at first, and says why in x-shammah-reason', async () => {
    const answer = await ask(DEBUG_QUESTION);
    expect(answer).toMatchObject({ route: 'local', reason: 'local-default' });
    expect(
      await metric(url, 'shammah_router_decisions_total', { route: 'local', reason: 'local-default' }),
    ).toBe(1);
  });

  it('escalates the category to the teacher after three poor ratings of local answers', async () => {
    const ratings = [];
    for (let turn = 0; turn < 3; turn++) {
      const answer = await ask(DEBUG_QUESTION);
      expect(answer.route).toBe('local');
      const { status: code, body } = await feedback({
        query: DEBUG_QUESTION,
        response: answer.text,
        rating: 'improve',
        correction: 'Read the stack trace: it names the line that failed.',
      });
      expect(code).toBe(200);
      expect(body).toMatchObject({
        object: 'feedback',
        rating: 'improve',
        weight: 3,
        training: { queued: true },
      });
      expect(body.routing).toMatchObject({ applied: true, category: 'debug' });
      ratings.push(body.routing);
    }
    expect(ratings.at(-1)).toMatchObject({ escalated: true });
    expect(ratings.at(-1)?.successRate).toBeLessThan(0.75);

    const next = await ask(DEBUG_QUESTION);
    expect(next).toMatchObject({ route: 'teacher', reason: 'learned-low-success' });
    expect(next.text).toBe('The capital of France is Paris.');
    // Another category is unaffected.
    expect(await ask('What is 12 * 7?')).toMatchObject({ route: 'local', reason: 'local-default' });

    expect(await category('debug')).toMatchObject({ escalated: true, observations: 3 });
    expect(await metric(url, 'shammah_router_category_escalated', { category: 'debug' })).toBe(1);
    expect(await metric(url, 'shammah_router_category_success_rate', { category: 'debug' })).toBeLessThan(
      0.75,
    );
    expect(
      await metric(url, 'shammah_router_decisions_total', {
        route: 'teacher',
        reason: 'learned-low-success',
      }),
    ).toBe(1);
    // gpt-4.1's price for the recorded usage (19 prompt, 8 completion tokens), under the model id the
    // answer reported.
    expect(
      await metric(url, 'shammah_teacher_cost_usd_total', {
        provider: 'openai',
        model: 'gpt-4.1-2025-04-14',
      }),
    ).toBeCloseTo((19 * 2 + 8 * 8) / 1e6, 9);
  });

  it('brings the category back to the local model after good ratings of probing answers', async () => {
    let goodRatings = 0;
    for (let turn = 0; turn < 30 && (await category('debug'))?.escalated; turn++) {
      const answer = await ask(DEBUG_QUESTION);
      if (answer.reason !== 'learning-probe') {
        expect(answer).toMatchObject({ route: 'teacher', reason: 'learned-low-success' });
        // A rating of the teacher's answer says nothing about the local model.
        const { body } = await feedback({
          query: DEBUG_QUESTION,
          response: answer.text,
          rating: 'good',
          train: false,
        });
        expect(body.routing).toMatchObject({ applied: false, reason: 'teacher-answer' });
        continue;
      }
      expect(answer.route).toBe('local');
      const { body } = await feedback({ query: DEBUG_QUESTION, response: answer.text, weight: 1 });
      expect(body).toMatchObject({
        rating: 'good',
        weight: 1,
        routing: { applied: true, category: 'debug' },
      });
      goodRatings++;
    }
    expect(await category('debug')).toMatchObject({ escalated: false });
    expect(goodRatings).toBeGreaterThan(2);
    expect(await ask(DEBUG_QUESTION)).toMatchObject({ route: 'local', reason: 'local-default' });
    expect(await metric(url, 'shammah_router_category_escalated', { category: 'debug' })).toBe(0);
  });

  it('wrote every rating and the teacher answers to the LoRA training queue, and persisted learning', async () => {
    const examples = await queued();
    const corrections = examples.filter((example) => example.source === 'user-correction');
    const teacherAnswers = examples.filter((example) => example.source === 'teacher-answer');
    // Three corrections at weight 3, then the good ratings of local answers at weight 1 (none for
    // the ratings sent with train: false).
    expect(corrections.slice(0, 3).map((example) => [example.weight, example.response])).toEqual(
      Array(3).fill([3, 'Read the stack trace: it names the line that failed.']),
    );
    expect(corrections.slice(3).every((example) => example.weight === 1)).toBe(true);
    expect(corrections[0]!.messages).toEqual([{ role: 'user', content: DEBUG_QUESTION }]);
    expect(corrections[0]!.rejectedResponse).toBeTypeOf('string');
    expect(teacherAnswers.length).toBeGreaterThan(0);
    expect(teacherAnswers[0]).toMatchObject({
      weight: 1,
      response: 'The capital of France is Paris.',
      modelId: 'openai/gpt-4.1-2025-04-14',
    });

    // Teacher answers are appended after their answer was sent: wait until the queue holds them all.
    let training = {} as z.infer<typeof trainingStatusSchema>;
    const settled = await eventually(async () => {
      training = (await (await fetch(`${url}/v1/training/status`)).json()) as typeof training;
      return (await queued()).length === training.queue?.examples;
    });
    expect(settled).toBe(true);
    expect(training.queue?.newExamples).toBe(training.queue?.examples);
    expect(training.queue?.examples).toBeGreaterThanOrEqual(examples.length);
    expect(training).toMatchObject({
      object: 'training.status',
      enabled: true,
      state: 'idle',
      autoTrain: false,
      learnFromTeachers: true,
      queue: { threshold: 10, unreadableLines: 0 },
      adapters: { active: null, versions: [] },
    });

    await learning.flush();
    const saved = JSON.parse(await readFile(join(home, 'router_stats.json'), 'utf8'));
    expect(saved.categories.debug.observations).toBeGreaterThan(3);
  });
});

describe('model "teacher"', () => {
  it('forces the teacher for OpenAI clients, and is listed in /v1/models', async () => {
    const answer = await ask('What is 12 * 7?', 'teacher');
    expect(answer).toMatchObject({ route: 'teacher', reason: 'forced-teacher' });
    expect(answer.text).toBe('The capital of France is Paris.');
    const models = await openai.models.list();
    expect(models.data.map((model) => model.id)).toContain('teacher');
  });

  it('forces the teacher for Anthropic clients', async () => {
    const anthropic = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await anthropic.messages
      .create({ model: 'teacher', max_tokens: 16, messages: [{ role: 'user', content: 'Hi there!' }] })
      .withResponse();
    expect(response.headers.get('x-shammah-route')).toBe('teacher');
    expect(response.headers.get('x-shammah-reason')).toBe('forced-teacher');
    expect(data.content).toEqual([{ type: 'text', text: 'The capital of France is Paris.' }]);
  });
});

describe('/v1/status', () => {
  it('reports the model, its load state, the routes taken, the queue and learning', async () => {
    const body = await status();
    expect(body).toMatchObject({
      object: 'status',
      status: 'ok',
      model: { id: generator.modelId, state: 'ready' },
      teachers: [{ provider: 'openai', model: 'gpt-4.1' }],
      queue: { queued: 0, active: 0 },
      confidence: null,
      learning: { threshold: 0.75, path: join(home, 'router_stats.json') },
    });
    expect(body.routes?.byRoute.local).toBeGreaterThan(3);
    expect(body.routes?.byReason['forced-teacher']).toBe(2);
    expect(body.routes?.costUsd).toBeGreaterThan(0);
    expect(body.learning?.categories.map((entry) => entry.name)).toContain('debug');
  });
});

describe('POST /v1/feedback with a bad body', () => {
  it.each([
    [{ query: 'Hi', response: 'Hello' }, 'rating: give rating ("good", "improve" or "critical") or weight'],
    [{ query: 'Hi', response: 'Hello', rating: 'bad' }, 'rating: must be "good", "improve" or "critical"'],
    [{ query: '  ', response: 'Hello', rating: 'good' }, 'query: must be the question the answer was for'],
    [{ response: 'Hello', rating: 'good' }, 'query:'],
    [{ query: 'Hi', response: 'Hello', weight: -1 }, 'weight: must be a positive number'],
    [{ query: 'Hi', response: 'Hello', rating: 'good', stars: 5 }, 'stars'],
  ])('%j → 400 saying what is wrong', async (body, message) => {
    // Teacher answers may still be arriving; what a rejected rating must not add is a correction.
    const before = (await queued('user-correction')).length;
    const answer = await feedback(body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.type).toBe('invalid_request_error');
    expect(answer.body.error.message).toContain(message);
    expect((await queued('user-correction')).length).toBe(before);
  });

  it('says so when the body is not JSON', async () => {
    const answer = await feedback('{"query": ');
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/not valid JSON/);
  });
});
