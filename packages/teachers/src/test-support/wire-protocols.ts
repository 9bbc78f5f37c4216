import type { Usage } from '@shammah/provider';
import { expect } from 'vitest';
import { fixture, jsonFixture, type RecordedRequest, type StubReply } from './stub-server.js';

/** What the conformance suite needs to know about one provider's wire protocol. */
export interface WireProtocol {
  name: string;
  /** Appended to the stub server's URL to make the teacher's base URL. */
  basePath: string;
  apiKey: string;
  /** Whether the protocol carries tool call ids (Gemini's documented examples have none). */
  toolCallIds: boolean;
  expected: {
    text: string;
    usage: Usage;
    toolCall: { id: string | undefined; name: string; input: unknown };
    toolCallUsage: Usage;
  };
  plain(stream: boolean): StubReply;
  toolCall(stream: boolean): StubReply;
  /** A streamed plain answer that stops writing after its first text. */
  stalledPlain(): StubReply;
  /** A recorded error: a rejected key, a 429, a prompt too long, or a 5xx server failure. */
  error(kind: 'auth' | 'rate-limit' | 'context-too-long' | 'server', retryAfterSeconds?: number): StubReply;
  /** A 400 in the provider's own error shape whose message is `message` (a server quoting the request). */
  echoError(message: string): StubReply;
  /** Asserts endpoint, method, credentials and the streaming flag of a received request. */
  assertRequest(request: RecordedRequest, options: { stream: boolean }): void;
  /** The tool definitions a request carried, normalized. */
  tools(request: RecordedRequest): Array<{ name: string; description: string; schema: unknown }>;
  /** The tool results a request carried, normalized. */
  toolResults(
    request: RecordedRequest,
  ): Array<{ id: string | undefined; name: string | undefined; text: string }>;
  /** The assistant's earlier tool calls a request carried, normalized. */
  assistantToolCalls(
    request: RecordedRequest,
  ): Array<{ id: string | undefined; name: string; input: unknown }>;
  /** The text of the last user message in a request. */
  lastUserText(request: RecordedRequest): string;
}

const weather = { location: 'San Francisco, CA', unit: 'fahrenheit' };
const plainText = 'The capital of France is Paris.';

function retryHeaders(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}

interface OpenAIWireOptions {
  name: string;
  directory: string;
  basePath: string;
  apiKey: string;
  authStatus: number;
  authFile: string;
  rateLimitFile: string;
  contextFile: string;
  /** A 5xx body and its status. */
  serverFile: string;
  serverStatus: number;
  /** How the provider shapes an error body: OpenAI's `{error:{…}}`, Mistral's flat one, xAI's `{code,error}`. */
  errorShape: 'openai' | 'mistral' | 'xai';
  streamOptions: boolean;
  usage: Usage;
  toolCallUsage: Usage;
  toolCallId: string;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .filter((part) => part?.type === 'text')
      .map((part) => part.text)
      .join('');
  }
  return '';
}

/** OpenAI's Chat Completions, as spoken by OpenAI, xAI, Mistral, Groq and compatible servers. */
export function openAIWire(options: OpenAIWireOptions): WireProtocol {
  const file = (name: string) => `${options.directory}/${name}`;
  return {
    name: options.name,
    basePath: options.basePath,
    apiKey: options.apiKey,
    toolCallIds: true,
    expected: {
      text: plainText,
      usage: options.usage,
      toolCall: { id: options.toolCallId, name: 'get_weather', input: weather },
      toolCallUsage: options.toolCallUsage,
    },
    plain: (stream) =>
      stream
        ? { sse: fixture(file('chat-completion-stream.sse')) }
        : { status: 200, json: jsonFixture(file('chat-completion.json')) },
    toolCall: (stream) =>
      stream
        ? { sse: fixture(file('tool-call-stream.sse')) }
        : { status: 200, json: jsonFixture(file('tool-call.json')) },
    stalledPlain: () => ({ sse: fixture(file('chat-completion-stream.sse')), stallAfterEvents: 2 }),
    error: (kind, retryAfterSeconds) => {
      if (kind === 'auth') return { status: options.authStatus, json: jsonFixture(file(options.authFile)) };
      if (kind === 'rate-limit') {
        return {
          status: 429,
          headers: retryHeaders(retryAfterSeconds),
          json: jsonFixture(file(options.rateLimitFile)),
        };
      }
      if (kind === 'server')
        return { status: options.serverStatus, json: jsonFixture(file(options.serverFile)) };
      return { status: 400, json: jsonFixture(file(options.contextFile)) };
    },
    echoError: (message) => {
      if (options.errorShape === 'xai')
        return { status: 400, json: { code: 'Client specified an invalid argument', error: message } };
      if (options.errorShape === 'mistral')
        return {
          status: 400,
          json: { object: 'error', message, type: 'invalid_request_error', param: null, code: null },
        };
      return {
        status: 400,
        json: { error: { message, type: 'invalid_request_error', param: null, code: null } },
      };
    },
    assertRequest: (request, { stream }) => {
      expect(request.method).toBe('POST');
      expect(request.path).toBe(`${options.basePath}/chat/completions`);
      expect(request.headers.authorization).toBe(`Bearer ${options.apiKey}`);
      expect(request.headers['content-type']).toContain('application/json');
      expect(Boolean(request.body.stream)).toBe(stream);
      if (stream && options.streamOptions)
        expect(request.body.stream_options).toEqual({ include_usage: true });
      if (!options.streamOptions) expect(request.body.stream_options).toBeUndefined();
    },
    tools: (request) =>
      (request.body.tools ?? []).map((tool: { type: string; function: Record<string, unknown> }) => {
        expect(tool.type).toBe('function');
        return {
          name: tool.function.name,
          description: tool.function.description,
          schema: tool.function.parameters,
        };
      }),
    toolResults: (request) =>
      request.body.messages
        .filter((message: { role: string }) => message.role === 'tool')
        .map((message: { tool_call_id: string; name?: string; content: unknown }) => ({
          id: message.tool_call_id,
          name: message.name,
          text: textOf(message.content),
        })),
    assistantToolCalls: (request) =>
      request.body.messages
        .filter((message: { role: string }) => message.role === 'assistant')
        .flatMap(
          (message: { tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> }) =>
            (message.tool_calls ?? []).map((call) => ({
              id: call.id,
              name: call.function.name,
              input: JSON.parse(call.function.arguments),
            })),
        ),
    lastUserText: (request) =>
      textOf(
        request.body.messages.filter((message: { role: string }) => message.role === 'user').at(-1)?.content,
      ),
  };
}

/** OpenAI itself. */
export const openAI = openAIWire({
  name: 'OpenAI',
  directory: 'openai',
  basePath: '/v1',
  apiKey: 'sk-test-openai-0123456789abcdefcret',
  authStatus: 401,
  authFile: 'error-invalid-api-key.json',
  rateLimitFile: 'error-rate-limit.json',
  contextFile: 'error-context-length.json',
  serverFile: 'error-server.json',
  serverStatus: 500,
  errorShape: 'openai',
  streamOptions: true,
  usage: { inputTokens: 19, outputTokens: 8 },
  toolCallUsage: { inputTokens: 82, outputTokens: 18 },
  toolCallId: 'call_abc123',
});

/** xAI, which answers a bad key with a 400. */
export const xai = openAIWire({
  name: 'xAI',
  directory: 'xai',
  basePath: '/v1',
  apiKey: 'xai-test-key-0123456789abcdef',
  authStatus: 400,
  authFile: 'error-incorrect-api-key.json',
  rateLimitFile: 'error-rate-limit.json',
  contextFile: 'error-context-length.json',
  serverFile: 'error-server.json',
  serverStatus: 503,
  errorShape: 'xai',
  streamOptions: true,
  usage: { inputTokens: 19, outputTokens: 8 },
  toolCallUsage: { inputTokens: 82, outputTokens: 18 },
  toolCallId: 'call_61220495',
});

/** Mistral: usage in the last chunk unasked, whole tool calls in one chunk, its own error shape. */
export const mistral = openAIWire({
  name: 'Mistral',
  directory: 'mistral',
  basePath: '/v1',
  apiKey: 'mistral-test-key-0123456789abcdef',
  authStatus: 401,
  authFile: 'error-unauthorized.json',
  rateLimitFile: 'error-rate-limit.json',
  contextFile: 'error-context-length.json',
  serverFile: 'error-server.json',
  serverStatus: 503,
  errorShape: 'mistral',
  streamOptions: false,
  usage: { inputTokens: 16, outputTokens: 8 },
  toolCallUsage: { inputTokens: 91, outputTokens: 24 },
  toolCallId: 'D681PevKs',
});

/** Groq: usage under `x_groq` in streams, `gsk_` keys. */
export const groq = openAIWire({
  name: 'Groq',
  directory: 'groq',
  basePath: '/openai/v1',
  apiKey: 'gsk_test0123456789abcdefWGdyb3FY',
  authStatus: 401,
  authFile: 'error-invalid-api-key.json',
  rateLimitFile: 'error-rate-limit.json',
  contextFile: 'error-context-length.json',
  serverFile: 'error-server.json',
  serverStatus: 503,
  errorShape: 'openai',
  streamOptions: true,
  usage: { inputTokens: 18, outputTokens: 8 },
  toolCallUsage: { inputTokens: 224, outputTokens: 27 },
  toolCallId: 'call_d5wg',
});

/** A self-hosted OpenAI-compatible server (speaks OpenAI's format). */
export const compatible = openAIWire({
  name: 'OpenAI-compatible',
  directory: 'openai',
  basePath: '/v1',
  apiKey: 'local-test-key-0123456789',
  authStatus: 401,
  authFile: 'error-invalid-api-key.json',
  rateLimitFile: 'error-rate-limit.json',
  contextFile: 'error-context-length.json',
  serverFile: 'error-server.json',
  serverStatus: 500,
  errorShape: 'openai',
  streamOptions: true,
  usage: { inputTokens: 19, outputTokens: 8 },
  toolCallUsage: { inputTokens: 82, outputTokens: 18 },
  toolCallId: 'call_abc123',
});

/** Anthropic's Messages API. */
export const anthropic: WireProtocol = {
  name: 'Anthropic',
  basePath: '',
  apiKey: 'sk-ant-api03-test-0123456789abcdef',
  toolCallIds: true,
  expected: {
    text: plainText,
    usage: { inputTokens: 14, outputTokens: 10 },
    toolCall: { id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: weather },
    toolCallUsage: { inputTokens: 472, outputTokens: 89 },
  },
  plain: (stream) =>
    stream
      ? { sse: fixture('anthropic/message-stream.sse') }
      : { status: 200, json: jsonFixture('anthropic/message.json') },
  toolCall: (stream) =>
    stream
      ? { sse: fixture('anthropic/tool-use-stream.sse') }
      : { status: 200, json: jsonFixture('anthropic/tool-use.json') },
  stalledPlain: () => ({ sse: fixture('anthropic/message-stream.sse'), stallAfterEvents: 4 }),
  error: (kind, retryAfterSeconds) => {
    if (kind === 'auth') return { status: 401, json: jsonFixture('anthropic/error-authentication.json') };
    if (kind === 'rate-limit') {
      return {
        status: 429,
        headers: retryHeaders(retryAfterSeconds),
        json: jsonFixture('anthropic/error-rate-limit.json'),
      };
    }
    if (kind === 'server') return { status: 500, json: jsonFixture('anthropic/error-api.json') };
    return { status: 400, json: jsonFixture('anthropic/error-prompt-too-long.json') };
  },
  echoError: (message) => ({
    status: 400,
    json: {
      type: 'error',
      error: { type: 'invalid_request_error', message },
      request_id: 'req_011CSHoEeqs5C35K2UUqR7G2',
    },
  }),
  assertRequest: (request, { stream }) => {
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/messages');
    // The SDK presents the key once: as `x-api-key` (older SDKs) or `Authorization: Bearer` (1.x).
    const presented = [
      request.headers['x-api-key'],
      request.headers.authorization?.replace(/^Bearer /, ''),
    ].filter((value) => value !== undefined);
    expect(presented).toEqual(['sk-ant-api03-test-0123456789abcdef']);
    expect(request.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Boolean(request.body.stream)).toBe(stream);
    expect(request.body.max_tokens).toBeGreaterThan(0);
  },
  tools: (request) =>
    (request.body.tools ?? []).map((tool: { name: string; description: string; input_schema: unknown }) => ({
      name: tool.name,
      description: tool.description,
      schema: tool.input_schema,
    })),
  toolResults: (request) =>
    request.body.messages
      .filter((message: { role: string }) => message.role === 'user')
      .flatMap((message: { content: unknown }) => (Array.isArray(message.content) ? message.content : []))
      .filter((block: { type: string }) => block.type === 'tool_result')
      .map((block: { tool_use_id: string; content: unknown }) => ({
        id: block.tool_use_id,
        name: undefined,
        text: textOf(block.content),
      })),
  assistantToolCalls: (request) =>
    request.body.messages
      .filter((message: { role: string }) => message.role === 'assistant')
      .flatMap((message: { content: unknown }) => (Array.isArray(message.content) ? message.content : []))
      .filter((block: { type: string }) => block.type === 'tool_use')
      .map((block: { id: string; name: string; input: unknown }) => ({
        id: block.id,
        name: block.name,
        input: block.input,
      })),
  lastUserText: (request) => {
    const user = request.body.messages.filter((message: { role: string }) => message.role === 'user').at(-1);
    return textOf(user?.content);
  },
};

/** Gemini's native `generateContent` API. */
export const gemini: WireProtocol = {
  name: 'Gemini',
  basePath: '',
  apiKey: 'AIzaSyTest-0123456789abcdefghijklmnop',
  toolCallIds: false,
  expected: {
    text: plainText,
    usage: { inputTokens: 8, outputTokens: 28 },
    toolCall: { id: undefined, name: 'get_weather', input: weather },
    toolCallUsage: { inputTokens: 71, outputTokens: 74 },
  },
  plain: (stream) =>
    stream
      ? { sse: fixture('gemini/generate-content-stream.sse') }
      : { status: 200, json: jsonFixture('gemini/generate-content.json') },
  toolCall: (stream) =>
    stream
      ? { sse: fixture('gemini/function-call-stream.sse') }
      : { status: 200, json: jsonFixture('gemini/function-call.json') },
  stalledPlain: () => ({ sse: fixture('gemini/generate-content-stream.sse'), stallAfterEvents: 1 }),
  error: (kind) => {
    if (kind === 'auth') return { status: 400, json: jsonFixture('gemini/error-api-key-invalid.json') };
    // Gemini says when to retry inside the body (RetryInfo, "1s"), not in a header.
    if (kind === 'rate-limit')
      return { status: 429, json: jsonFixture('gemini/error-resource-exhausted.json') };
    if (kind === 'server') return { status: 503, json: jsonFixture('gemini/error-unavailable.json') };
    return { status: 400, json: jsonFixture('gemini/error-token-count.json') };
  },
  echoError: (message) => ({
    status: 400,
    json: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } },
  }),
  assertRequest: (request, { stream }) => {
    expect(request.method).toBe('POST');
    const action = stream ? 'streamGenerateContent' : 'generateContent';
    // The SDK picks the API version (v1beta, or v1 in 3.x); the model and action are ours.
    expect(request.path).toMatch(new RegExp(`^/v1(beta)?/models/gemini-2\\.5-flash:${action}$`));
    if (stream) expect(request.query.get('alt')).toBe('sse');
    expect(request.query.get('key')).toBeNull();
    expect(request.headers['x-goog-api-key']).toBe('AIzaSyTest-0123456789abcdefghijklmnop');
  },
  tools: (request) =>
    (request.body.tools ?? []).flatMap(
      (tool: {
        functionDeclarations?: Array<{ name: string; description: string; parametersJsonSchema: unknown }>;
      }) =>
        (tool.functionDeclarations ?? []).map((declaration) => ({
          name: declaration.name,
          description: declaration.description,
          schema: declaration.parametersJsonSchema,
        })),
    ),
  toolResults: (request) =>
    request.body.contents
      .flatMap((content: { parts: unknown[] }) => content.parts)
      .filter((part: { functionResponse?: unknown }) => part.functionResponse)
      .map(
        (part: {
          functionResponse: { id?: string; name: string; response: { output?: string; error?: string } };
        }) => ({
          id: part.functionResponse.id,
          name: part.functionResponse.name,
          text: part.functionResponse.response.output ?? part.functionResponse.response.error ?? '',
        }),
      ),
  assistantToolCalls: (request) =>
    request.body.contents
      .filter((content: { role: string }) => content.role === 'model')
      .flatMap((content: { parts: unknown[] }) => content.parts)
      .filter((part: { functionCall?: unknown }) => part.functionCall)
      .map((part: { functionCall: { id?: string; name: string; args: unknown } }) => ({
        id: part.functionCall.id,
        name: part.functionCall.name,
        input: part.functionCall.args,
      })),
  lastUserText: (request) => {
    const user = request.body.contents.filter((content: { role: string }) => content.role === 'user').at(-1);
    return (user?.parts ?? [])
      .filter((part: { text?: string }) => typeof part.text === 'string')
      .map((part: { text: string }) => part.text)
      .join('');
  },
};
