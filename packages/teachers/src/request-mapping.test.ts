import type { ChatMessage, ChatRequest } from '@shammah/provider';
import { collectStream } from '@shammah/provider';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createAnthropicTeacher } from './anthropic-teacher.js';
import { createGeminiTeacher } from './gemini-teacher.js';
import { createMistralTeacher, createOpenAITeacher } from './openai-compatible-teachers.js';
import { StubServer } from './test-support/stub-server.js';
import { anthropic, gemini, mistral, openAI } from './test-support/wire-protocols.js';

const png = { type: 'image' as const, data: 'iVBORw0KGgo=', mediaType: 'image/png' };

/** A tool loop turn from another provider: an Anthropic-style id, a failed tool and a screenshot. */
const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are Shammah.' },
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: [{ type: 'text', text: 'What is on screen?' }, png] },
  {
    role: 'assistant',
    content: [
      { type: 'text', text: 'Let me look.' },
      { type: 'tool-call', id: 'toolu_01A09q90qw90lq917835lq9', name: 'screenshot', input: {} },
      { type: 'tool-call', id: 'toolu_01B', name: 'read', input: { file_path: 'a.ts' } },
    ],
  },
  {
    role: 'tool',
    content: [
      {
        type: 'tool-result',
        toolCallId: 'toolu_01A09q90qw90lq917835lq9',
        toolName: 'screenshot',
        content: [{ type: 'text', text: 'captured' }, png],
      },
      { type: 'tool-result', toolCallId: 'toolu_01B', toolName: 'read', content: 'ENOENT', isError: true },
    ],
  },
];

const request: ChatRequest = {
  messages: conversation,
  tools: [{ name: 'read', description: 'Read a file', inputSchema: { type: 'object' } }],
  toolChoice: 'required',
  maxTokens: 256,
  temperature: 0.2,
  stop: ['END'],
  seed: 7,
};

describe('request mapping on the wire', () => {
  let server: StubServer;
  beforeAll(async () => {
    server = await StubServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  test('Anthropic: system on top, images as base64 blocks, multi-part and failed tool results, tool choice any', async () => {
    server.reply(anthropic.plain(false));
    await createAnthropicTeacher({ apiKey: anthropic.apiKey, baseURL: server.url }).generate(request);
    const body = server.requests[0]!.body;
    expect(body.system).toBe('You are Shammah.\n\nBe brief.');
    expect(body.max_tokens).toBe(256);
    expect(body.stop_sequences).toEqual(['END']);
    expect(body.tool_choice).toEqual({ type: 'any' });
    expect(body.messages.map((message: { role: string }) => message.role)).toEqual([
      'user',
      'assistant',
      'user',
    ]);
    expect(body.messages[0].content[1]).toEqual({
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
    });
    expect(body.messages[1].content[1]).toEqual({
      type: 'tool_use',
      id: 'toolu_01A09q90qw90lq917835lq9',
      name: 'screenshot',
      input: {},
    });
    expect(body.messages[2].content).toEqual([
      {
        type: 'tool_result',
        tool_use_id: 'toolu_01A09q90qw90lq917835lq9',
        content: [
          { type: 'text', text: 'captured' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
      { type: 'tool_result', tool_use_id: 'toolu_01B', content: 'ENOENT', is_error: true },
    ]);
  });

  test('OpenAI: tool calls with JSON arguments, tool images follow in a user message, max_completion_tokens', async () => {
    server.reply(openAI.plain(false));
    await createOpenAITeacher({
      apiKey: openAI.apiKey,
      baseURL: `${server.url}/v1`,
      model: 'gpt-4.1',
    }).generate(request);
    const body = server.requests[0]!.body;
    expect(body.max_completion_tokens).toBe(256);
    expect(body.max_tokens).toBeUndefined();
    expect(body.temperature).toBe(0.2);
    expect(body.seed).toBe(7);
    expect(body.tool_choice).toBe('required');
    expect(body.messages.map((message: { role: string }) => message.role)).toEqual([
      'system',
      'system',
      'user',
      'assistant',
      'tool',
      'tool',
      'user',
    ]);
    expect(body.messages[2].content[1]).toEqual({
      type: 'image_url',
      image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' },
    });
    expect(body.messages[3].tool_calls[1]).toEqual({
      id: 'toolu_01B',
      type: 'function',
      function: { name: 'read', arguments: '{"file_path":"a.ts"}' },
    });
    expect(body.messages[4]).toEqual({
      role: 'tool',
      tool_call_id: 'toolu_01A09q90qw90lq917835lq9',
      content: 'captured',
    });
    expect(body.messages[5]).toEqual({ role: 'tool', tool_call_id: 'toolu_01B', content: 'Error: ENOENT' });
    expect(body.messages[6].content[1].image_url.url).toBe('data:image/png;base64,iVBORw0KGgo=');
  });

  test('OpenAI reasoning models get no sampling parameters they would reject', async () => {
    server.reply(openAI.plain(false));
    await createOpenAITeacher({
      apiKey: openAI.apiKey,
      baseURL: `${server.url}/v1`,
      model: 'gpt-5.4',
    }).generate(request);
    expect(server.requests[0]!.body.temperature).toBeUndefined();
  });

  test('Mistral: foreign tool ids become stable 9-character ids, tool messages carry the name, any, random_seed', async () => {
    server.reply(mistral.plain(false));
    await createMistralTeacher({ apiKey: mistral.apiKey, baseURL: `${server.url}/v1` }).generate(request);
    const body = server.requests[0]!.body;
    const callIds = body.messages[3].tool_calls.map((call: { id: string }) => call.id);
    expect(callIds.every((id: string) => /^[a-zA-Z0-9]{9}$/.test(id))).toBe(true);
    expect(body.messages[4].tool_call_id).toBe(callIds[0]);
    expect(body.messages[5].tool_call_id).toBe(callIds[1]);
    expect(body.messages[4].name).toBe('screenshot');
    expect(body.tool_choice).toBe('any');
    expect(body.random_seed).toBe(7);
    expect(body.seed).toBeUndefined();
    expect(body.max_tokens).toBe(256);
  });

  test('Gemini: system instruction, inline images, function responses by name, error results, ANY mode', async () => {
    server.reply(gemini.plain(false));
    await createGeminiTeacher({
      apiKey: gemini.apiKey,
      baseURL: server.url,
      model: 'gemini-2.5-flash',
    }).generate(request);
    const body = server.requests[0]!.body;
    expect(body.systemInstruction.parts[0].text).toBe('You are Shammah.\n\nBe brief.');
    expect(body.generationConfig).toMatchObject({
      maxOutputTokens: 256,
      temperature: 0.2,
      stopSequences: ['END'],
      seed: 7,
    });
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(body.contents.map((content: { role: string }) => content.role)).toEqual(['user', 'model', 'user']);
    expect(body.contents[0].parts[1]).toEqual({
      inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' },
    });
    expect(body.contents[1].parts[1].functionCall).toEqual({
      id: 'toolu_01A09q90qw90lq917835lq9',
      name: 'screenshot',
      args: {},
    });
    expect(body.contents[2].parts).toEqual([
      {
        functionResponse: {
          id: 'toolu_01A09q90qw90lq917835lq9',
          name: 'screenshot',
          response: { output: 'captured' },
        },
      },
      { functionResponse: { id: 'toolu_01B', name: 'read', response: { error: 'ENOENT' } } },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
    ]);
  });

  test("Gemini: a function call's thought signature goes back with it; calls without one get Gemini 3's skip value", async () => {
    server.reply(gemini.toolCall(true), gemini.plain(false), gemini.plain(false));
    const teacher = createGeminiTeacher({
      apiKey: gemini.apiKey,
      baseURL: server.url,
      model: 'gemini-2.5-flash',
    });
    const turn = await collectStream(
      teacher.stream({ messages: [{ role: 'user', content: 'Weather?' }], tools: request.tools! }),
    );
    const [call] = turn.toolCalls;
    await teacher.generate({
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: [{ type: 'tool-call', ...call! }] },
        {
          role: 'tool',
          content: [{ type: 'tool-result', toolCallId: call!.id, toolName: call!.name, content: '59°F' }],
        },
      ],
    });
    const sent = server.requests[1]!.body.contents[1].parts[0];
    expect(sent.thoughtSignature).toBe('CiQB0e2Kb2Fk9mYxbF3qv0y7JwKzq2h3p8s4nXrV1c6tY0uE5aIKYgHR7Ypl');
    // The id was made up locally (Gemini sent none), so it is not sent back.
    expect(sent.functionCall.id).toBeUndefined();

    const gemini3 = createGeminiTeacher({
      apiKey: gemini.apiKey,
      baseURL: server.url,
      model: 'gemini-3.8-flash',
    });
    await gemini3.generate({ messages: conversation });
    const parts = server.requests[2]!.body.contents[1].parts;
    expect(parts[1].thoughtSignature).toBe('skip_thought_signature_validator');
    expect(parts[2].thoughtSignature).toBeUndefined();
  });

  test('configured headers reach the server for every protocol', async () => {
    const headers = { 'x-gateway-team': 'shammah' };
    server.reply(anthropic.plain(false), openAI.plain(false), gemini.plain(false));
    await createAnthropicTeacher({ apiKey: anthropic.apiKey, baseURL: server.url, headers }).generate(
      request,
    );
    await createOpenAITeacher({ apiKey: openAI.apiKey, baseURL: `${server.url}/v1`, headers }).generate(
      request,
    );
    await createGeminiTeacher({ apiKey: gemini.apiKey, baseURL: server.url, headers }).generate(request);
    expect(server.requests.map((received) => received.headers['x-gateway-team'])).toEqual([
      'shammah',
      'shammah',
      'shammah',
    ]);
  });
});
