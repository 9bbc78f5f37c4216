// Tool calls on a teacher route: the daemon's router sends requests to an OpenAI-compatible teacher
// (a real HTTP server on 127.0.0.1 replaying recorded OpenAI streams, since a cloud model cannot run
// here), and the official clients see the teacher's tool call in their own protocol, then send the
// tool result back for the teacher to read.
import Anthropic from '@anthropic-ai/sdk';
import { createRouter } from '@shammah/router';
import { createOpenAICompatibleTeacher } from '@shammah/teachers';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../src/index.js';
import { metric } from './support/metrics.js';
import { OpenAIStandIn } from './support/openai-stand-in.js';

const weatherArguments = { location: 'San Francisco, CA', unit: 'fahrenheit' };

let standIn: OpenAIStandIn;
let daemon: Daemon;
let url: string;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  standIn = await OpenAIStandIn.start();
  const teacher = createOpenAICompatibleTeacher({
    baseURL: standIn.url,
    model: 'gpt-4.1',
    apiKey: 'test-key',
  });
  daemon = createDaemon({
    teachers: [teacher],
    route: (models) => createRouter(models),
    port: 0,
    defaultMetrics: false,
  });
  url = (await daemon.listen()).url;
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await daemon?.close();
  await standIn?.close();
});

const openaiTools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the current weather',
      parameters: {
        type: 'object',
        properties: {
          location: { type: 'string' },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        },
        required: ['location'],
      },
    },
  },
];
const ask: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'What is the weather in San Francisco?' },
];

describe('OpenAI clients on a teacher route', () => {
  it('returns the teacher tool call as tool_calls', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'shammah', messages: ask, tools: openaiTools })
      .withResponse();
    expect(response.headers.get('x-shammah-route')).toBe('teacher');
    const choice = data.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      {
        id: 'call_abc123',
        type: 'function',
        function: { name: 'get_weather', arguments: JSON.stringify(weatherArguments) },
      },
    ]);
    expect(data.usage).toMatchObject({ prompt_tokens: 82, completion_tokens: 18, total_tokens: 100 });
    // The tools reached the teacher in OpenAI's shape.
    expect(standIn.requests.at(-1)?.body.tools[0].function.name).toBe('get_weather');
  });

  it('streams the tool call as deltas with index, id, name and argument pieces', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4.1',
      messages: ask,
      tools: openaiTools,
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      pieces.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(pieces[0]).toMatchObject({
      index: 0,
      id: 'call_abc123',
      type: 'function',
      function: { name: 'get_weather' },
    });
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.every((piece) => piece.index === 0)).toBe(true);
    expect(JSON.parse(pieces.map((piece) => piece.function?.arguments ?? '').join(''))).toEqual(
      weatherArguments,
    );
    expect(finish).toBe('tool_calls');
    expect(usage?.total_tokens).toBe(100);
  });

  it('passes the tool result back to the teacher, which answers', async () => {
    const answer = await openai.chat.completions.create({
      model: 'shammah',
      tools: openaiTools,
      messages: [
        ...ask,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_abc123',
              type: 'function',
              function: { name: 'get_weather', arguments: JSON.stringify(weatherArguments) },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_abc123', content: '64 °F and foggy' },
      ],
    });
    expect(answer.choices[0]?.message.content).toBe('The capital of France is Paris.');
    const sent = standIn.requests.at(-1)?.body.messages;
    expect(sent.at(-2)).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: 'call_abc123', function: { name: 'get_weather' } }],
    });
    expect(JSON.parse(sent.at(-2).tool_calls[0].function.arguments)).toEqual(weatherArguments);
    expect(sent.at(-1)).toMatchObject({
      role: 'tool',
      tool_call_id: 'call_abc123',
      content: '64 °F and foggy',
    });
  });
});

describe('Anthropic clients on a teacher route', () => {
  const tools: Anthropic.Tool[] = [
    {
      name: 'get_weather',
      description: 'Get the current weather',
      input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
    },
  ];

  it('returns the tool call as a tool_use block, whole and streamed', async () => {
    const message = await anthropic.messages.create({
      model: 'shammah',
      max_tokens: 100,
      tools,
      messages: [{ role: 'user', content: 'What is the weather in San Francisco?' }],
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_abc123', name: 'get_weather', input: weatherArguments },
    ]);
    expect(message.usage).toMatchObject({ input_tokens: 82, output_tokens: 18 });

    const stream = anthropic.messages.stream({
      model: 'shammah',
      max_tokens: 100,
      tools,
      messages: [{ role: 'user', content: 'What is the weather in San Francisco?' }],
    });
    const partials: string[] = [];
    stream.on('inputJson', (partial) => partials.push(partial));
    const streamed = await stream.finalMessage();
    expect(partials.length).toBeGreaterThan(1);
    expect(streamed.content).toEqual(message.content);
    expect(streamed.stop_reason).toBe('tool_use');
  });

  it('sends a tool_result block back to the teacher as a tool message', async () => {
    const message = await anthropic.messages.create({
      model: 'shammah',
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: 'What is the weather in San Francisco?' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'call_abc123', name: 'get_weather', input: weatherArguments }],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'call_abc123', content: '64 °F and foggy' }],
        },
      ],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'The capital of France is Paris.' }]);
    expect(message.stop_reason).toBe('end_turn');
    const sent = standIn.requests.at(-1)?.body.messages;
    expect(sent.at(-1)).toMatchObject({
      role: 'tool',
      tool_call_id: 'call_abc123',
      content: '64 °F and foggy',
    });
  });
});

describe('teacher routes in models and metrics', () => {
  it('lists the teacher model and counts its answers as teacher routes', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual(['shammah', 'teacher', 'gpt-4.1']);
    expect(await metric(url, 'shammah_generations_total', { route: 'teacher' })).toBe(6);
    expect(await metric(url, 'shammah_generations_total', { route: 'local' })).toBe(0);
    expect(await metric(url, 'shammah_completion_tokens_total', { route: 'teacher' })).toBeGreaterThan(0);
  });
});
