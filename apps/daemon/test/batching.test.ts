// Several clients at once on the real model with batching on: their answers stream side by side
// (each starts before the others finish, where one-at-a-time would serve them in turn) and each is
// the answer that client gets alone.
import { WorkerGenerator } from '@shammah/core-inference';
import { createRouter } from '@shammah/router';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../src/index.js';
import { realModelDir } from './support/real-model.js';

const QUESTIONS = ['What is the capital of France?', 'Name three colours.', 'What is 2 + 2?'];
let local: WorkerGenerator;
let daemon: Daemon;
let client: OpenAI;

beforeAll(async () => {
  local = await WorkerGenerator.load({ model: await realModelDir(), variant: 'fused-q41', batchSize: 3 });
  daemon = createDaemon({
    local,
    route: (models) => createRouter(models),
    port: 0,
    localConcurrency: 3,
    defaultMetrics: false,
  });
  const { url } = await daemon.listen();
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await daemon?.close();
  await local?.dispose();
});

async function ask(question: string, session: string) {
  const stream = await client.chat.completions.create(
    {
      model: 'shammah',
      stream: true,
      temperature: 0,
      max_tokens: 24,
      messages: [{ role: 'user', content: question }],
    },
    { headers: { 'x-session-id': session } },
  );
  let text = '';
  let first = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content ?? '';
    if (delta && !first) first = performance.now();
    text += delta;
  }
  return { text, first, last: performance.now() };
}

describe('batched local answers', () => {
  it('streams three answers side by side, each the answer it gets alone', async () => {
    const alone = [];
    for (const [index, question] of QUESTIONS.entries()) alone.push(await ask(question, `alone-${index}`));
    const together = await Promise.all(
      QUESTIONS.map((question, index) => ask(question, `together-${index}`)),
    );
    expect(together.map((answer) => answer.text)).toEqual(alone.map((answer) => answer.text));
    for (const answer of together) expect(answer.text.length).toBeGreaterThan(0);
    // Side by side: every answer's first token came before any answer's last.
    const lastOfAll = Math.min(...together.map((answer) => answer.last));
    for (const answer of together) expect(answer.first).toBeLessThan(lastOfAll);
  });
});
