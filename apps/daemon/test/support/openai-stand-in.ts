import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request the stand-in received. */
export interface ReceivedRequest {
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are inspected loosely by each test
  body: any;
}

function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
}

/**
 * A teacher that cannot run here (a cloud OpenAI model), stood in for by a real HTTP server on
 * 127.0.0.1 speaking OpenAI's chat completions protocol with recorded payloads: a conversation whose
 * last message is a user's gets the recorded `get_weather` tool call; one that ends with a tool result
 * gets the recorded text answer. With `answer: 'text'`, every conversation gets the text answer
 * ("The capital of France is Paris.").
 */
export class OpenAIStandIn {
  readonly requests: ReceivedRequest[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  url = '';

  private constructor(answer: 'recorded' | 'text') {
    this.#server = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk) => {
        raw += chunk;
      });
      request.on('end', () => {
        const body = raw ? JSON.parse(raw) : undefined;
        this.requests.push({ path: request.url ?? '', body });
        const last = body?.messages?.at(-1);
        const text = answer === 'text' || last?.role === 'tool';
        const sse = fixture(text ? 'chat-completion-stream.sse' : 'tool-call-stream.sse');
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const events = sse.split('\n\n').filter((event) => event.trim() !== '');
        let index = 0;
        const next = () => {
          if (index >= events.length) {
            response.end();
            return;
          }
          response.write(`${events[index++]}\n\n`);
          setTimeout(next, 2);
        };
        next();
      });
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(options: { answer?: 'recorded' | 'text' } = {}): Promise<OpenAIStandIn> {
    const standIn = new OpenAIStandIn(options.answer ?? 'recorded');
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    standIn.url = `http://127.0.0.1:${(standIn.#server.address() as AddressInfo).port}/v1`;
    return standIn;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
