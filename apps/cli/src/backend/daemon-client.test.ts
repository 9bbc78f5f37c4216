import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectStream } from '@shammah/provider';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonChatModel, DaemonRequestError, toOpenAIMessages } from './daemon-client.js';

type Handler = (request: IncomingMessage, body: Record<string, unknown>, response: ServerResponse) => void;

let server: Server | undefined;

async function daemon(handler: Handler): Promise<string> {
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    handler(request, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'), response);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One chunk as the daemon's /v1/chat/completions streams it. */
const sse = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

describe('DaemonChatModel', () => {
  it('streams text with the route from the headers and usage from the last chunk', async () => {
    let seen: Record<string, unknown> = {};
    const url = await daemon((_request, body, response) => {
      seen = body;
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'x-shammah-route': 'local',
        'x-shammah-model': 'Org/Local-1B',
      });
      response.write(sse({ role: 'assistant', content: '' }));
      response.write(sse({ content: 'Par' }));
      response.write(sse({ content: 'is.' }));
      response.write(sse({}, 'stop'));
      response.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 8 } } })}\n\n`,
      );
      response.end('data: [DONE]\n\n');
    });
    const model = new DaemonChatModel({ url: () => url, model: 'local', sessionId: 'cli-1' });
    const parts = [];
    for await (const part of model.stream({
      messages: [{ role: 'user', content: 'Capital of France?' }],
      maxTokens: 20,
    }))
      parts.push(part);
    expect(parts[0]).toMatchObject({ type: 'route', route: 'local', model: 'Org/Local-1B' });
    expect(
      parts.filter((part) => part.type === 'text-delta').map((part) => (part as { text: string }).text),
    ).toEqual(['Par', 'is.']);
    expect(parts.at(-1)).toMatchObject({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 12, outputTokens: 3, cachedInputTokens: 8 },
      modelId: 'Org/Local-1B',
    });
    expect(seen).toMatchObject({
      model: 'local',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 20,
      metadata: { session_id: 'cli-1' },
    });
  });

  it('turns tool_calls deltas into tool calls, and sends tools and tool results in the OpenAI format', async () => {
    let seen: Record<string, unknown> = {};
    const url = await daemon((_request, body, response) => {
      seen = body;
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'x-shammah-route': 'teacher',
        'x-shammah-model': 'gpt-x',
      });
      response.write(
        sse({
          tool_calls: [
            { index: 0, id: 'call_1', type: 'function', function: { name: 'Read', arguments: '' } },
          ],
        }),
      );
      response.write(sse({ tool_calls: [{ index: 0, function: { arguments: '{"file_path":' } }] }));
      response.write(sse({ tool_calls: [{ index: 0, function: { arguments: '"a.ts"}' } }] }));
      response.write(sse({}, 'tool_calls'));
      response.end('data: [DONE]\n\n');
    });
    const model = new DaemonChatModel({ url: () => url, model: 'auto' });
    const result = await collectStream(
      model.stream({
        messages: [
          { role: 'user', content: 'read it' },
          {
            role: 'assistant',
            content: [{ type: 'tool-call', id: 'call_0', name: 'Glob', input: { pattern: '*.ts' } }],
          },
          {
            role: 'tool',
            content: [{ type: 'tool-result', toolCallId: 'call_0', toolName: 'Glob', content: 'a.ts' }],
          },
        ],
        tools: [{ name: 'Read', description: 'Reads a file', inputSchema: { type: 'object' } }],
      }),
    );
    expect(result.toolCalls).toEqual([{ id: 'call_1', name: 'Read', input: { file_path: 'a.ts' } }]);
    expect(result.finishReason).toBe('tool-calls');
    expect(seen.tools).toEqual([
      {
        type: 'function',
        function: { name: 'Read', description: 'Reads a file', parameters: { type: 'object' } },
      },
    ]);
    expect(seen.messages).toEqual([
      { role: 'user', content: 'read it' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_0', type: 'function', function: { name: 'Glob', arguments: '{"pattern":"*.ts"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_0', content: 'a.ts' },
    ]);
  });

  it("reports the daemon's error message and code, and an unreachable daemon", async () => {
    const url = await daemon((_request, _body, response) => {
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          error: { message: 'The local model is loading.', type: 'server_error', code: 'model_loading' },
        }),
      );
    });
    const model = new DaemonChatModel({ url: () => url, model: 'auto' });
    const failure = collectStream(model.stream({ messages: [{ role: 'user', content: 'hi' }] }));
    await expect(failure).rejects.toThrow(DaemonRequestError);
    await expect(failure).rejects.toMatchObject({ statusCode: 503, code: 'model_loading' });
    await expect(failure).rejects.toThrow('The daemon answered 503: The local model is loading.');

    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const nowhere = new DaemonChatModel({ url: () => `http://127.0.0.1:${closed}`, model: 'auto' });
    await expect(
      collectStream(nowhere.stream({ messages: [{ role: 'user', content: 'hi' }] })),
    ).rejects.toThrow(/cannot be reached .*shammah daemon status/);
  });

  it('ends with finish reason abort when cancelled mid-answer', async () => {
    const url = await daemon((_request, _body, response) => {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'x-shammah-route': 'local',
        'x-shammah-model': 'm',
      });
      response.write(sse({ content: 'Once upon' }));
      // …and never finishes.
    });
    const controller = new AbortController();
    const model = new DaemonChatModel({ url: () => url, model: 'auto' });
    const parts = [];
    for await (const part of model.stream({
      messages: [{ role: 'user', content: 'story' }],
      signal: controller.signal,
    })) {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    }
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'abort' });
  });

  it('sends images as data URLs', () => {
    expect(
      toOpenAIMessages([
        { role: 'user', content: [{ type: 'image', data: 'AAAA', mediaType: 'image/png' }] },
      ]),
    ).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
    ]);
  });
});
