import {
  ApiCallError,
  type ChatMessage,
  type ChatModel,
  type ChatStreamPart,
  collectStream,
  type Logger,
  type ToolDefinition,
} from '@shammah/provider';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { RetryPolicy } from './retry.js';
import { captureLogger } from './test-support/capture-logger.js';
import { StubServer } from './test-support/stub-server.js';
import type { WireProtocol } from './test-support/wire-protocols.js';

/** The settings the suite gives a factory; pass them all on to the teacher's settings. */
export interface ConformanceSettings {
  baseURL: string;
  apiKey: string;
  logger: Logger;
  /** Extra headers, when a case needs them (a gateway token). */
  headers?: Record<string, string>;
  /** Retry policy overrides, when a case needs a known back-off. */
  retry?: Partial<RetryPolicy>;
}

/** How the conformance suite builds the model under test against its stand-in server. */
export interface ConformanceTarget {
  name: string;
  wire: WireProtocol;
  create(settings: ConformanceSettings): ChatModel;
}

const gatewayHeader = 'x-gateway-token';
const gatewayToken = 'gw-secret-7d1f0c9a4be24e58a1c3';

const getWeather: ToolDefinition = {
  name: 'get_weather',
  description: 'Get the current weather in a given location',
  inputSchema: {
    type: 'object',
    properties: {
      location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    },
    required: ['location'],
  },
};

const question: ChatMessage[] = [
  { role: 'system', content: 'You are a concise assistant.' },
  { role: 'user', content: 'What is the capital of France?' },
];

async function collectParts(stream: AsyncIterable<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

async function* replay(parts: ChatStreamPart[]): AsyncGenerator<ChatStreamPart> {
  yield* parts;
}

/** The behaviour every chat model adapter must show, run against each one's stand-in server. */
export function runTest({ name, wire, create }: ConformanceTarget): void {
  describe(`${name} conforms to ChatModel`, () => {
    let server: StubServer;
    let logs: ReturnType<typeof captureLogger>;
    const model = (extra: Pick<ConformanceSettings, 'headers' | 'retry'> = {}) =>
      create({
        baseURL: `${server.url}${wire.basePath}`,
        apiKey: wire.apiKey,
        logger: logs.logger,
        ...extra,
      });

    beforeAll(async () => {
      server = await StubServer.start();
    });
    afterAll(async () => {
      await server.close();
    });
    beforeEach(() => {
      server.reset();
      logs = captureLogger();
    });

    test('generate() returns a plain answer with usage, and sends the question with credentials', async () => {
      server.reply(wire.plain(false));
      const result = await model().generate({ messages: question });
      expect(result.text).toBe(wire.expected.text);
      expect(result.finishReason).toBe('stop');
      expect(result.toolCalls).toEqual([]);
      expect(result.usage).toEqual(wire.expected.usage);
      expect(server.requests).toHaveLength(1);
      const [request] = server.requests;
      wire.assertRequest(request!, { stream: false });
      expect(wire.lastUserText(request!)).toBe('What is the capital of France?');
      expect(request!.rawBody).toContain('You are a concise assistant.');
    });

    test('a streamed answer arrives in several deltas and equals the generate() answer', async () => {
      server.reply(wire.plain(false), wire.plain(true));
      const teacher = model();
      const whole = await teacher.generate({ messages: question });
      const parts = await collectParts(teacher.stream({ messages: question }));
      const deltas = parts.filter((part) => part.type === 'text-delta');
      expect(deltas.length).toBeGreaterThan(1);
      expect(parts.at(-1)?.type).toBe('finish');
      expect(parts.filter((part) => part.type === 'finish')).toHaveLength(1);
      const streamed = await collectStream(replay(parts));
      expect(streamed.text).toBe(whole.text);
      expect(streamed.finishReason).toBe(whole.finishReason);
      expect(streamed.usage).toEqual(whole.usage);
      expect(streamed.modelId).toBe(whole.modelId);
      wire.assertRequest(server.requests[1]!, { stream: true });
    });

    test('a streamed tool call starts, streams its arguments, completes with its id, and its result goes back', async () => {
      server.reply(wire.toolCall(true), wire.plain(false));
      const teacher = model();
      const parts = await collectParts(
        teacher.stream({
          messages: [{ role: 'user', content: "What's the weather in San Francisco?" }],
          tools: [getWeather],
        }),
      );
      const start = parts.findIndex((part) => part.type === 'tool-call-start');
      const complete = parts.findIndex((part) => part.type === 'tool-call');
      expect(start).toBeGreaterThanOrEqual(0);
      expect(complete).toBeGreaterThan(start);
      const call = parts[complete] as Extract<ChatStreamPart, { type: 'tool-call' }>;
      const startPart = parts[start] as Extract<ChatStreamPart, { type: 'tool-call-start' }>;
      expect(startPart).toEqual({ type: 'tool-call-start', id: call.id, name: 'get_weather' });
      const argumentsText = parts
        .filter((part) => part.type === 'tool-call-delta' && part.id === call.id)
        .map((part) => (part as { argumentsDelta: string }).argumentsDelta)
        .join('');
      expect(JSON.parse(argumentsText)).toEqual(wire.expected.toolCall.input);
      expect(call.name).toBe(wire.expected.toolCall.name);
      expect(call.input).toEqual(wire.expected.toolCall.input);
      if (wire.expected.toolCall.id) expect(call.id).toBe(wire.expected.toolCall.id);
      else expect(call.id).not.toBe('');
      const finish = parts.at(-1) as Extract<ChatStreamPart, { type: 'finish' }>;
      expect(finish.finishReason).toBe('tool-calls');
      expect(finish.usage).toEqual(wire.expected.toolCallUsage);

      const sentTools = wire.tools(server.requests[0]!);
      expect(sentTools).toEqual([
        { name: getWeather.name, description: getWeather.description, schema: getWeather.inputSchema },
      ]);

      const answer = await teacher.generate({
        tools: [getWeather],
        messages: [
          { role: 'user', content: "What's the weather in San Francisco?" },
          {
            role: 'assistant',
            content: [{ type: 'tool-call', id: call.id, name: call.name, input: call.input }],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: call.id,
                toolName: call.name,
                content: '59°F, mostly cloudy',
              },
            ],
          },
        ],
      });
      expect(answer.text).toBe(wire.expected.text);
      const followUp = server.requests[1]!;
      const [sentCall] = wire.assistantToolCalls(followUp);
      expect(sentCall?.name).toBe('get_weather');
      expect(sentCall?.input).toEqual(wire.expected.toolCall.input);
      const [result] = wire.toolResults(followUp);
      expect(result?.text).toBe('59°F, mostly cloudy');
      if (wire.toolCallIds) {
        expect(sentCall?.id).toBe(call.id);
        expect(result?.id).toBe(call.id);
      } else {
        expect(result?.name).toBe('get_weather');
      }
    });

    test('generate() returns the same tool call as the stream', async () => {
      server.reply(wire.toolCall(false));
      const result = await model().generate({
        messages: [{ role: 'user', content: "What's the weather in San Francisco?" }],
        tools: [getWeather],
      });
      expect(result.finishReason).toBe('tool-calls');
      expect(result.toolCalls).toHaveLength(1);
      expect(result.toolCalls[0]).toMatchObject({ name: 'get_weather', input: wire.expected.toolCall.input });
      if (wire.expected.toolCall.id) expect(result.toolCalls[0]!.id).toBe(wire.expected.toolCall.id);
      expect(result.usage).toEqual(wire.expected.toolCallUsage);
    });

    test('aborting mid-stream ends it promptly with finish reason abort', async () => {
      server.reply(wire.stalledPlain());
      const controller = new AbortController();
      const parts: ChatStreamPart[] = [];
      let abortedAt = 0;
      let error: unknown;
      try {
        for await (const part of model().stream({ messages: question, signal: controller.signal })) {
          parts.push(part);
          if (part.type === 'text-delta' && abortedAt === 0) {
            abortedAt = performance.now();
            controller.abort();
          }
        }
      } catch (caught) {
        error = caught;
      }
      const elapsed = performance.now() - abortedAt;
      expect(abortedAt).toBeGreaterThan(0);
      expect(elapsed).toBeLessThan(1_000);
      if (error) {
        expect(error).toBeInstanceOf(ApiCallError);
        expect((error as ApiCallError).kind).toBe('aborted');
      } else {
        expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'abort' });
      }
      expect(server.requests).toHaveLength(1);
    });

    test('a 429 is retried after the wait the server asked for, then succeeds', async () => {
      server.reply(wire.error('rate-limit', 1), wire.plain(false));
      const started = performance.now();
      const result = await model().generate({ messages: question });
      const elapsed = performance.now() - started;
      expect(result.text).toBe(wire.expected.text);
      expect(server.requests).toHaveLength(2);
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(5_000);
      expect(
        logs.entries.some((entry) => entry.level === 'warn' && /retrying/.test(entry.message ?? '')),
      ).toBe(true);
    });

    test('a rejected key is an auth error, not retried, and the key appears in no message or log', async () => {
      server.reply(wire.error('auth'), wire.plain(false));
      const error = await model()
        .generate({ messages: question })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiCallError);
      const apiError = error as ApiCallError;
      expect(apiError.kind).toBe('auth');
      expect(apiError.isRetryable).toBe(false);
      expect(apiError.statusCode).toBeGreaterThanOrEqual(400);
      expect(apiError.responseBody).toBeTruthy();
      expect(server.requests).toHaveLength(1);
      expect(apiError.message).not.toContain(wire.apiKey);
      expect(String(apiError.responseBody)).not.toContain(wire.apiKey);
      expect(logs.entries.length).toBeGreaterThan(0);
      expect(logs.text()).not.toContain(wire.apiKey);
    });

    test('a prompt over the context window is a context-too-long error, not retried', async () => {
      server.reply(wire.error('context-too-long'), wire.plain(false));
      const error = await model()
        .generate({ messages: question })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiCallError);
      expect((error as ApiCallError).kind).toBe('context-too-long');
      expect((error as ApiCallError).statusCode).toBe(400);
      expect(server.requests).toHaveLength(1);
    });

    test('a streamed request that gets a 429 is retried too, and the logs never hold the key', async () => {
      server.reply(wire.error('rate-limit', 0), wire.plain(true));
      const result = await collectStream(model().stream({ messages: question }));
      expect(result.text).toBe(wire.expected.text);
      expect(server.requests).toHaveLength(2);
      expect(logs.text()).not.toContain(wire.apiKey);
    });

    test('a 5xx is retried after a back-off, then the answer arrives', async () => {
      server.reply(wire.error('server'), wire.plain(false));
      const started = performance.now();
      const result = await model({ retry: { initialDelayMs: 400 } }).generate({ messages: question });
      const elapsed = performance.now() - started;
      expect(result.text).toBe(wire.expected.text);
      expect(result.finishReason).toBe('stop');
      expect(server.requests).toHaveLength(2);
      // The back-off is 400 ms less up to a quarter of jitter; no retry-after was sent.
      expect(elapsed).toBeGreaterThanOrEqual(290);
      const retry = logs.entries.find(
        (entry) => entry.level === 'warn' && /retrying/.test(entry.message ?? ''),
      );
      const fields = (retry?.object ?? {}) as { kind?: string; statusCode?: number; delayMs?: number };
      expect(fields.kind).toBe('server');
      expect(fields.statusCode).toBeGreaterThanOrEqual(500);
      expect(fields.delayMs).toBeGreaterThanOrEqual(300);
      expect(fields.delayMs).toBeLessThanOrEqual(400);
    });

    test('a streamed request that gets a 5xx is retried and streams the answer', async () => {
      server.reply(wire.error('server'), wire.plain(true));
      const started = performance.now();
      const result = await collectStream(
        model({ retry: { initialDelayMs: 200 } }).stream({ messages: question }),
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(result.text).toBe(wire.expected.text);
      expect(result.finishReason).toBe('stop');
      expect(server.requests).toHaveLength(2);
      wire.assertRequest(server.requests[1]!, { stream: true });
    });

    test('5xx after 5xx gives up after the retries and throws a server error', async () => {
      server.reply(wire.error('server'), wire.error('server'), wire.plain(false));
      const error = await model({ retry: { initialDelayMs: 20, maxRetries: 1 } })
        .generate({ messages: question })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiCallError);
      expect((error as ApiCallError).kind).toBe('server');
      expect((error as ApiCallError).isRetryable).toBe(true);
      expect(server.requests).toHaveLength(2);
    });

    test('a secret header a server echoes in its error appears in no message, body or log', async () => {
      server.reply((request) =>
        wire.echoError(`unknown ${gatewayHeader}: ${request.headers[gatewayHeader]}`),
      );
      const error = await model({ headers: { [gatewayHeader]: gatewayToken } })
        .generate({ messages: question })
        .catch((caught: unknown) => caught);
      // The header did go out, and the server did quote it back.
      expect(server.requests[0]!.headers[gatewayHeader]).toBe(gatewayToken);
      expect(error).toBeInstanceOf(ApiCallError);
      const apiError = error as ApiCallError;
      expect(apiError.kind).toBe('invalid-request');
      expect(apiError.message).toContain(`unknown ${gatewayHeader}: [redacted]`);
      expect(apiError.message).not.toContain(gatewayToken);
      expect(String(apiError.responseBody)).toContain('[redacted]');
      expect(String(apiError.responseBody)).not.toContain(gatewayToken);
      expect(logs.entries.length).toBeGreaterThan(0);
      expect(logs.text()).not.toContain(gatewayToken);
    });
  });
}
