import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One chat request the stand-in received (the body as the OpenAI SDK sent it). */
export interface RecordedRequest {
  model: string;
  stream?: boolean;
  messages: Array<{ role: string; content?: unknown; tool_calls?: unknown[]; tool_call_id?: string }>;
  tools?: Array<{ type: string; function: { name: string } }>;
}

/** What the stand-in answers: text, or tool calls (name and arguments). */
export type ScriptedAnswer =
  | { text: string }
  | { toolCalls: Array<{ name: string; arguments: Record<string, unknown> }> };

/** The model id the stand-in serves; a real OpenAI model, so the price table prices its answers. */
export const STAND_IN_MODEL = 'gpt-5.4-mini';

/**
 * The config.toml most end-to-end tests run with: no local model, no daemon, the stand-in as the
 * one teacher.
 */
export function standInConfig(baseUrl: string): string {
  return `[backend]\nenabled = false\n\n[client]\nuse_daemon = false\n\n[[teachers]]\nprovider = "openai-compatible"\nname = "StandIn"\nbase_url = "${baseUrl}"\nmodel = "${STAND_IN_MODEL}"\napi_key = "sk-test-valid"\n`;
}

function chunk(id: string, delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: `${STAND_IN_MODEL}-2026-03-17`,
    system_fingerprint: 'fp_b376dfbbd5',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  })}\n\n`;
}

function usageChunk(id: string, prompt: number, completion: number): string {
  return `data: ${JSON.stringify({
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: `${STAND_IN_MODEL}-2026-03-17`,
    system_fingerprint: 'fp_b376dfbbd5',
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
  })}\n\n`;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const part of request) chunks.push(part as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A stand-in for a cloud teacher: an HTTP server on 127.0.0.1 speaking OpenAI's documented chat
 * completions protocol (`POST /v1/chat/completions`, streamed as `chat.completion.chunk` events
 * ending in a usage chunk and `data: [DONE]`, as recorded from the real API), plus `GET
 * /v1/models` for key checks. What it answers is scripted per request; every request is recorded.
 */
export class TeacherStandIn {
  readonly requests: RecordedRequest[] = [];
  /** Keys `GET /v1/models` accepts; others get OpenAI's 401. */
  validKeys = new Set(['sk-test-valid']);
  #server: Server;
  #script: (request: RecordedRequest) => ScriptedAnswer;

  private constructor(script: (request: RecordedRequest) => ScriptedAnswer) {
    this.#script = script;
    this.#server = createServer((request, response) => {
      void this.#handle(request, response);
    });
  }

  static async start(script: (request: RecordedRequest) => ScriptedAnswer): Promise<TeacherStandIn> {
    const standIn = new TeacherStandIn(script);
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  /** `http://127.0.0.1:<port>/v1`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: import('node:http').ServerResponse): Promise<void> {
    if (request.method === 'GET' && request.url?.startsWith('/v1/models')) {
      const key = (request.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!this.validKeys.has(key)) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            error: {
              message: `Incorrect API key provided: ${key.slice(0, 3)}***. You can find your API key at https://platform.openai.com/account/api-keys.`,
              type: 'invalid_request_error',
              param: null,
              code: 'invalid_api_key',
            },
          }),
        );
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          object: 'list',
          data: [{ id: STAND_IN_MODEL, object: 'model', created: 1742256000, owned_by: 'system' }],
        }),
      );
      return;
    }
    if (request.method !== 'POST' || !request.url?.startsWith('/v1/chat/completions')) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ error: { message: `Unknown path ${request.url}`, type: 'invalid_request_error' } }),
      );
      return;
    }
    const body = JSON.parse(await readBody(request)) as RecordedRequest;
    this.requests.push(body);
    const answer = this.#script(body);
    const id = `chatcmpl-${this.requests.length}`;
    const prompt = JSON.stringify(body.messages).length >> 2;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': `req_${this.requests.length}`,
    });
    if ('text' in answer) {
      response.write(chunk(id, { role: 'assistant', content: '', refusal: null }));
      const words = answer.text.split(/(?<= )/);
      for (const word of words) {
        response.write(chunk(id, { content: word }));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      response.write(chunk(id, {}, 'stop'));
      response.write(usageChunk(id, prompt, words.length));
    } else {
      answer.toolCalls.forEach((call, index) => {
        const args = JSON.stringify(call.arguments);
        response.write(
          chunk(id, {
            ...(index === 0 ? { role: 'assistant', content: null, refusal: null } : {}),
            tool_calls: [
              {
                index,
                id: `call_${this.requests.length}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: '' },
              },
            ],
          }),
        );
        response.write(chunk(id, { tool_calls: [{ index, function: { arguments: args.slice(0, 8) } }] }));
        response.write(chunk(id, { tool_calls: [{ index, function: { arguments: args.slice(8) } }] }));
      });
      response.write(chunk(id, {}, 'tool_calls'));
      response.write(usageChunk(id, prompt, 20));
    }
    response.end('data: [DONE]\n\n');
  }
}
