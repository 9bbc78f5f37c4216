// The Anthropic-compatible API end to end: the real daemon, the real SmolLM2 model and the official
// `@anthropic-ai/sdk` client (plus a raw fetch to check the event stream on the wire).
import Anthropic from '@anthropic-ai/sdk';
import type { WorkerGenerator } from '@shammah/core-inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../src/index.js';
import { loadRealModel } from './support/real-model.js';

const question: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the capital of France?' }];

let local: WorkerGenerator;
let daemon: Daemon;
let url: string;
let client: Anthropic;

beforeAll(async () => {
  local = await loadRealModel();
  daemon = createDaemon({ local, port: 0, defaultMetrics: false });
  url = (await daemon.listen()).url;
  client = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await daemon?.close();
  await local?.dispose();
});

function textOf(message: Anthropic.Message): string {
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

describe('POST /v1/messages', () => {
  it('answers with the model, and counts the tokens', async () => {
    const message = await client.messages.create({ model: 'shammah', max_tokens: 24, messages: question });
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.id).toMatch(/^msg_/);
    expect(textOf(message)).toContain('Paris');
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0)).toBeGreaterThan(10);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(message._request_id).toMatch(/^req_/);
  });

  it('streams the same text it answers whole, and the final usage', async () => {
    const whole = await client.messages.create({ model: 'shammah', max_tokens: 16, messages: question });
    const stream = client.messages.stream({ model: 'shammah', max_tokens: 16, messages: question });
    let streamed = '';
    stream.on('text', (text) => {
      streamed += text;
    });
    const final = await stream.finalMessage();
    expect(streamed).toBe(textOf(whole));
    expect(textOf(final)).toBe(textOf(whole));
    expect(final.stop_reason).toBe(whole.stop_reason);
    expect(final.usage.output_tokens).toBe(whole.usage.output_tokens);
    expect(final.usage.input_tokens + (final.usage.cache_read_input_tokens ?? 0)).toBe(
      whole.usage.input_tokens + (whole.usage.cache_read_input_tokens ?? 0),
    );
  });

  it('sends the events in the documented order', async () => {
    const response = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'shammah', max_tokens: 6, stream: true, messages: question }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = (await response.text())
      .split('\n\n')
      .filter((block) => block.trim() !== '')
      .map((block) => {
        const name = /^event: (.+)$/m.exec(block)?.[1];
        const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? 'null');
        expect(data.type).toBe(name);
        return data;
      });
    const names = events.map((event) => event.type);
    expect(names.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(names.slice(3, -3).every((name) => name === 'content_block_delta')).toBe(true);
    expect(events[0].message.usage.input_tokens).toBeGreaterThan(10);
    const delta = events.at(-2);
    expect(delta.delta.stop_reason).toBe('max_tokens');
    expect(delta.usage.output_tokens).toBe(6);
  });

  it('takes the system prompt as a string or as blocks, and stops at stop_sequences', async () => {
    const asString = await client.messages.create({
      model: 'shammah',
      max_tokens: 24,
      system: 'You are a helpful assistant.',
      messages: question,
      stop_sequences: [' Paris'],
    });
    expect(textOf(asString)).not.toContain('Paris');
    const asBlocks = await client.messages.create({
      model: 'shammah',
      max_tokens: 24,
      system: [{ type: 'text', text: 'You are a helpful assistant.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is the capital of France?' }] }],
    });
    expect(textOf(asBlocks)).toContain('Paris');
    expect(asBlocks.usage.input_tokens + (asBlocks.usage.cache_read_input_tokens ?? 0)).toBe(
      asString.usage.input_tokens + (asString.usage.cache_read_input_tokens ?? 0),
    );
  });

  it('says which stop sequence ended the answer, whole and streamed', async () => {
    const request = {
      model: 'shammah',
      max_tokens: 24,
      messages: question,
      stop_sequences: ['zebra crossing', ' Paris'],
    };
    const whole = await client.messages.create(request);
    expect(textOf(whole)).not.toContain('Paris');
    expect(whole.stop_reason).toBe('stop_sequence');
    expect(whole.stop_sequence).toBe(' Paris');
    const streamed = await client.messages.stream(request).finalMessage();
    expect(streamed.stop_reason).toBe('stop_sequence');
    expect(streamed.stop_sequence).toBe(' Paris');
    // An answer that ends without meeting one is an end_turn with no stop_sequence.
    const unmet = await client.messages.create({ ...request, stop_sequences: ['zebra crossing'] });
    expect(unmet.stop_reason).toBe('end_turn');
    expect(unmet.stop_sequence).toBeNull();
  });

  it('returns a tool call the local model writes as text as a tool_use block', async () => {
    const tools: Anthropic.Tool[] = [
      {
        name: 'get_weather',
        description: 'Get the current weather in a city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ];
    // A conversation whose pattern forces the 135M model's answer: each city is answered with a call.
    const call = (id: string, city: string): Anthropic.MessageParam => ({
      role: 'assistant',
      content: [{ type: 'tool_use', id, name: 'get_weather', input: { city } }],
    });
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: 'Paris' },
      call('toolu_1', 'Paris'),
      { role: 'user', content: 'London' },
      call('toolu_2', 'London'),
      { role: 'user', content: 'Rome' },
      call('toolu_3', 'Rome'),
      { role: 'user', content: 'Berlin' },
    ];
    const stream = client.messages.stream({ model: 'shammah', max_tokens: 32, tools, messages });
    const jsonPieces: string[] = [];
    stream.on('inputJson', (partial) => jsonPieces.push(partial));
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(textOf(message)).not.toContain('tool_call');
    const toolUse = message.content.find((block) => block.type === 'tool_use');
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Berlin' } });
    expect(JSON.parse(jsonPieces.join(''))).toEqual({ city: 'Berlin' });
  });

  it('answers an image with a clear 400 when the model cannot read images', async () => {
    const error = await client.messages
      .create({
        model: 'shammah',
        max_tokens: 8,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (error as InstanceType<typeof Anthropic.BadRequestError>).error as {
      type: string;
      error: { type: string; message: string };
    };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('does not accept images');
  });
});

describe('POST /v1/messages/count_tokens', () => {
  it('counts the prompt as the model reads it', async () => {
    const counted = await client.messages.countTokens({ model: 'shammah', messages: question });
    const answered = await client.messages.create({ model: 'shammah', max_tokens: 1, messages: question });
    expect(counted.input_tokens).toBe(
      answered.usage.input_tokens + (answered.usage.cache_read_input_tokens ?? 0),
    );
  });
});

describe('GET /v1/models with anthropic-version', () => {
  it("lists the models in Anthropic's shape", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model.type).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toContain('shammah');
  });
});
