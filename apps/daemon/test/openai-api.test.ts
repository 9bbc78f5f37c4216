// The OpenAI-compatible API end to end: the real daemon on a free port, the real SmolLM2 model on
// its worker thread, and the official `openai` client (plus raw fetches where the wire matters).
import type { WorkerGenerator } from '@shammah/core-inference';
import { createRouter } from '@shammah/router';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon, type SessionInfo } from '../src/index.js';
import { metric } from './support/metrics.js';
import { loadRealModel } from './support/real-model.js';

const question = [{ role: 'user' as const, content: 'What is the capital of France?' }];

let local: WorkerGenerator;
let daemon: Daemon;
let url: string;
let client: OpenAI;

beforeAll(async () => {
  local = await loadRealModel();
  // Composed as the shammah-daemon bin composes it: the router over the queued local model.
  daemon = createDaemon({ local, route: (models) => createRouter(models), port: 0, defaultMetrics: false });
  url = (await daemon.listen()).url;
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await daemon?.close();
  await local?.dispose();
});

/** The data lines of a raw SSE body. */
function dataLines(body: string): string[] {
  return body
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice('data: '.length));
}

describe('POST /v1/chat/completions', () => {
  it('answers with the model, and counts the tokens', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'shammah', messages: question, max_tokens: 24 })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toContain('Paris');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.model).toBe(local.modelId);
    expect(data.usage?.prompt_tokens).toBeGreaterThan(10);
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe(
      (data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0),
    );
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(response.headers.get('x-shammah-route')).toBe('local');
  });

  it('streams the same text it answers whole, with a usage chunk', async () => {
    const whole = await client.chat.completions.create({
      model: 'shammah',
      messages: question,
      max_tokens: 16,
    });
    const stream = await client.chat.completions.create({
      model: 'shammah',
      messages: question,
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(finish).toBe(whole.choices[0]?.finish_reason);
    expect(usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
    expect(usage?.prompt_tokens).toBe(whole.usage?.prompt_tokens);
  });

  it('ends a raw SSE stream with data: [DONE], after a usage chunk with no choices', async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'shammah',
        messages: question,
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const body = await response.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    const lines = dataLines(body);
    const chunks = lines.slice(0, -1).map((line) => JSON.parse(line));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
    // Every other chunk carries `usage: null`, as OpenAI sends them with include_usage.
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it('leaves usage out of a stream that did not ask for it', async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'shammah', messages: question, max_tokens: 4, stream: true }),
    });
    const lines = dataLines(await response.text());
    expect(lines.at(-1)).toBe('[DONE]');
    expect(lines.slice(0, -1).every((line) => !('usage' in JSON.parse(line)))).toBe(true);
  });

  it('stops at a stop sequence and at max_tokens', async () => {
    const stopped = await client.chat.completions.create({
      model: 'shammah',
      messages: question,
      max_tokens: 24,
      stop: ' Paris',
    });
    expect(stopped.choices[0]?.message.content).not.toContain('Paris');
    expect(stopped.choices[0]?.finish_reason).toBe('stop');
    const cut = await client.chat.completions.create({
      model: 'shammah',
      messages: question,
      max_completion_tokens: 2,
    });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(2);
  });

  it('accepts content parts, developer messages and names', async () => {
    const answer = await client.chat.completions.create({
      model: 'shammah',
      max_tokens: 24,
      messages: [
        { role: 'developer', content: 'Answer in one short sentence.' },
        { role: 'user', name: 'ada', content: [{ type: 'text', text: 'What is the capital of France?' }] },
      ],
    });
    expect(answer.choices[0]?.message.content).toContain('Paris');
  });

  it('returns log-probabilities when asked', async () => {
    const answer = await client.chat.completions.create({
      model: 'shammah',
      messages: question,
      max_tokens: 4,
      logprobs: true,
    });
    const content = answer.choices[0]?.logprobs?.content ?? [];
    expect(content).toHaveLength(answer.usage?.completion_tokens ?? -1);
    expect(content.every((item) => item.logprob <= 0)).toBe(true);
  });

  it('returns a tool call the local model writes as text, never as content', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Get the current weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    // A conversation whose pattern forces the 135M model's answer: each city is answered with a call.
    const call = (id: string, city: string): OpenAI.ChatCompletionMessageParam => ({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city }) } },
      ],
    });
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Paris' },
      call('call_1', 'Paris'),
      { role: 'user', content: 'London' },
      call('call_2', 'London'),
      { role: 'user', content: 'Rome' },
      call('call_3', 'Rome'),
      { role: 'user', content: 'Berlin' },
    ];
    const whole = await client.chat.completions.create({ model: 'shammah', messages, tools, max_tokens: 32 });
    const choice = whole.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content ?? '').not.toContain('tool_call');
    const toolCall = choice.message.tool_calls?.[0];
    expect(toolCall?.type).toBe('function');
    if (toolCall?.type !== 'function') throw new Error('expected a function call');
    expect(toolCall.function.name).toBe('get_weather');
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ city: 'Berlin' });

    // Streamed: the call arrives as tool_calls deltas with index, id, name and arguments.
    const stream = await client.chat.completions.create({
      model: 'shammah',
      messages,
      tools,
      max_tokens: 32,
      stream: true,
    });
    let content = '';
    let name = '';
    let args = '';
    let id: string | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      content += delta?.content ?? '';
      for (const piece of delta?.tool_calls ?? []) {
        expect(piece.index).toBe(0);
        id ??= piece.id;
        name += piece.function?.name ?? '';
        args += piece.function?.arguments ?? '';
      }
    }
    expect(content).not.toContain('<tool_call>');
    expect(id).toMatch(/^call_/);
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Berlin' });

    // The client runs the tool and sends the result back: it reaches the model's prompt.
    const conversation: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'What is the weather in Berlin?' },
      { role: 'assistant', content: null, tool_calls: choice.message.tool_calls },
    ];
    const result = 'Sunny and 21 degrees, with a light wind from the west.';
    const withResult = await client.chat.completions.create({
      model: 'shammah',
      tools,
      max_tokens: 1,
      messages: [...conversation, { role: 'tool', tool_call_id: toolCall.id, content: result }],
    });
    const without = await client.chat.completions.create({
      model: 'shammah',
      tools,
      max_tokens: 1,
      messages: conversation,
    });
    expect(withResult.usage!.prompt_tokens - without.usage!.prompt_tokens).toBeGreaterThan(10);
  });
  it('answers an image with a clear 400 when the model cannot read images', async () => {
    const error = await client.chat.completions
      .create({
        model: 'shammah',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
        ],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const badRequest = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(badRequest.message).toContain('does not accept images');
    expect(badRequest.param).toBe('messages.[0].content.[1]');
  });
});

describe('sessions', () => {
  it('keeps a conversation warm between turns: the next turn reuses the cached prefix', async () => {
    const session = `trip-${Date.now()}`;
    const first = await client.chat.completions.create(
      {
        model: 'shammah',
        messages: [{ role: 'user', content: 'Name a famous French painter.' }],
        max_tokens: 12,
      },
      { headers: { 'x-session-id': session } },
    );
    const second = await client.chat.completions.create(
      {
        model: 'shammah',
        max_tokens: 8,
        messages: [
          { role: 'user', content: 'Name a famous French painter.' },
          { role: 'assistant', content: first.choices[0]?.message.content ?? '' },
          { role: 'user', content: 'And a Dutch one?' },
        ],
      },
      { headers: { 'x-session-id': session } },
    );
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan((first.usage?.prompt_tokens ?? 0) - 2);

    const info = (await (await fetch(`${url}/v1/session/${session}`)).json()) as SessionInfo;
    expect(info).toMatchObject({ id: session, turns: 2, active: 0, lastRoute: 'local' });
    expect(info.cachedPromptTokens).toBe(cached + (first.usage?.prompt_tokens_details?.cached_tokens ?? 0));

    const deleted = await fetch(`${url}/v1/session/${session}`, { method: 'DELETE' });
    expect(await deleted.json()).toEqual({ id: session, object: 'session.deleted', deleted: true });
    const gone = await fetch(`${url}/v1/session/${session}`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('session_not_found');
  });

  it('takes the session from the body user field too', async () => {
    await client.chat.completions.create({
      model: 'shammah',
      messages: question,
      max_tokens: 2,
      user: 'user-7',
    });
    const info = (await (await fetch(`${url}/v1/session/user-7`)).json()) as SessionInfo;
    expect(info.turns).toBe(1);
  });
});

describe('models, health and metrics', () => {
  it('lists the models, and finds one by an id with a slash', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(['shammah', local.modelId]);
    const one = await client.models.retrieve(local.modelId);
    expect(one).toMatchObject({ id: local.modelId, object: 'model', owned_by: 'local' });
    await expect(client.models.retrieve('gpt-none')).rejects.toMatchObject({ status: 404 });
  });

  it('reports the model status on /health', async () => {
    const health = await (await fetch(`${url}/health`)).json();
    expect(health).toMatchObject({
      status: 'ok',
      pid: process.pid,
      model: { id: local.modelId, state: 'ready', variant: 'fp32' },
      queue: { queued: 0, active: 0 },
    });
  });

  it('exposes Prometheus metrics for requests, tokens and routes', async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(
      await metric(url, 'shammah_http_requests_total', { route: '/v1/chat/completions', status: '200' }),
    ).toBeGreaterThan(5);
    expect(await metric(url, 'shammah_completion_tokens_total', { route: 'local' })).toBeGreaterThan(10);
    expect(
      await metric(url, 'shammah_generations_total', { route: 'local', finish_reason: 'tool-calls' }),
    ).toBe(2);
    expect(await metric(url, 'shammah_decode_tokens_per_second_count', { route: 'local' })).toBeGreaterThan(
      0,
    );
    expect(await metric(url, 'shammah_local_model_state', { state: 'ready' })).toBe(1);
  });
});
