import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the scripted teacher answers one request with: a tool call, or text. */
export type ScriptedTurn =
  | { type: 'tool-call'; id: string; name: string; arguments: Record<string, unknown> }
  | { type: 'text'; text: string };

/** A request the scripted teacher received. */
export interface ScriptedRequest {
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are inspected loosely by each test
  body: any;
}

/**
 * A cloud teacher that cannot run here, stood in for by a real HTTP server on 127.0.0.1 that speaks
 * OpenAI's chat completions protocol (streamed `chat.completion.chunk` events as OpenAI sends them,
 * tool-call arguments in pieces, usage in the last chunk, then `[DONE]`, or one `chat.completion` when
 * the request does not stream). What it answers is decided by `script` from the request's body, so a
 * test can play a model that calls a tool and then answers from the tool's result.
 */
export class ScriptedOpenAITeacher {
  readonly requests: ScriptedRequest[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  url = '';

  // biome-ignore lint/suspicious/noExplicitAny: the script reads the request body loosely
  private constructor(script: (body: any) => ScriptedTurn) {
    this.#server = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk) => {
        raw += chunk;
      });
      request.on('end', () => {
        const body = raw ? JSON.parse(raw) : {};
        this.requests.push({ path: request.url ?? '', body });
        const turn = script(body);
        const base = {
          id: `chatcmpl-${this.requests.length}`,
          created: 1_765_000_000,
          model: body.model ?? 'gpt-4.1',
          system_fingerprint: 'fp_stand_in',
        };
        const usage = { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 };
        const finishReason = turn.type === 'tool-call' ? 'tool_calls' : 'stop';
        if (!body.stream) {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              ...base,
              object: 'chat.completion',
              choices: [
                {
                  index: 0,
                  message:
                    turn.type === 'text'
                      ? { role: 'assistant', content: turn.text, refusal: null }
                      : {
                          role: 'assistant',
                          content: null,
                          refusal: null,
                          tool_calls: [
                            {
                              id: turn.id,
                              type: 'function',
                              function: { name: turn.name, arguments: JSON.stringify(turn.arguments) },
                            },
                          ],
                        },
                  logprobs: null,
                  finish_reason: finishReason,
                },
              ],
              usage,
            }),
          );
          return;
        }
        const chunk = (delta: object, finish: string | null = null) =>
          `data: ${JSON.stringify({
            ...base,
            object: 'chat.completion.chunk',
            choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
            usage: null,
          })}\n\n`;
        const events: string[] = [];
        if (turn.type === 'text') {
          events.push(chunk({ role: 'assistant', content: '', refusal: null }));
          for (const piece of turn.text.match(/\S+\s*|\s+/g) ?? []) events.push(chunk({ content: piece }));
        } else {
          const args = JSON.stringify(turn.arguments);
          const middle = Math.floor(args.length / 2);
          events.push(
            chunk({
              role: 'assistant',
              content: null,
              tool_calls: [
                { index: 0, id: turn.id, type: 'function', function: { name: turn.name, arguments: '' } },
              ],
              refusal: null,
            }),
            chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, middle) } }] }),
            chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(middle) } }] }),
          );
        }
        events.push(chunk({}, finishReason));
        events.push(
          `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`,
          'data: [DONE]\n\n',
        );
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        let index = 0;
        const next = () => {
          if (index >= events.length) {
            response.end();
            return;
          }
          response.write(events[index++]);
          setTimeout(next, 1);
        };
        next();
      });
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts listening on 127.0.0.1 on a free port; `url` is the `/v1` base URL. */
  // biome-ignore lint/suspicious/noExplicitAny: the script reads the request body loosely
  static async start(script: (body: any) => ScriptedTurn): Promise<ScriptedOpenAITeacher> {
    const teacher = new ScriptedOpenAITeacher(script);
    await new Promise<void>((resolve) => teacher.#server.listen(0, '127.0.0.1', resolve));
    teacher.url = `http://127.0.0.1:${(teacher.#server.address() as AddressInfo).port}/v1`;
    return teacher;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
