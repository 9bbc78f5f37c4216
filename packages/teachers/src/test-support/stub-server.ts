import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the stand-in server received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are inspected loosely by each test
  body: any;
}

/** What the server answers to one request. */
export type StubReply =
  | { status: number; headers?: Record<string, string>; json: unknown }
  | {
      status?: number;
      headers?: Record<string, string>;
      /** Raw SSE text; each event (separated by a blank line) is written on its own. */
      sse: string;
      /** Pause between events. Default 2 ms. */
      eventDelayMs?: number;
      /** Write this many events, then keep the connection open without writing. */
      stallAfterEvents?: number;
    };

/** Reads a fixture file from `src/fixtures/`. */
export function fixture(path: string): string {
  return readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
}

/** Reads and parses a JSON fixture. */
export function jsonFixture(path: string): unknown {
  return JSON.parse(fixture(path));
}

function splitEvents(sse: string): string[] {
  const separator = sse.includes('\r\n\r\n') ? '\r\n\r\n' : '\n\n';
  return sse
    .split(separator)
    .filter((event) => event.trim() !== '')
    .map((event) => `${event}${separator}`);
}

/**
 * A real HTTP server on 127.0.0.1 (ephemeral port) that answers with scripted replies, in order, and
 * records every request so tests can assert what the client sent.
 */
export class StubServer {
  readonly requests: RecordedRequest[] = [];
  readonly #replies: Array<StubReply | ((request: RecordedRequest) => StubReply)> = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  url = '';

  static async start(): Promise<StubServer> {
    const stub = new StubServer();
    await stub.#listen();
    return stub;
  }

  /** Queues replies for the next requests. A function reply sees the request it answers. */
  reply(...replies: Array<StubReply | ((request: RecordedRequest) => StubReply)>): this {
    this.#replies.push(...replies);
    return this;
  }

  /** Replies not used yet. */
  get pending(): number {
    return this.#replies.length;
  }

  /** Forgets recorded requests and queued replies. */
  reset(): void {
    this.requests.length = 0;
    this.#replies.length = 0;
  }

  async #listen(): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        let body: unknown;
        try {
          body = rawBody === '' ? undefined : JSON.parse(rawBody);
        } catch {
          body = rawBody;
        }
        const recorded: RecordedRequest = {
          method: request.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: request.headers,
          rawBody,
          body,
        };
        this.requests.push(recorded);
        const next = this.#replies.shift();
        const reply = typeof next === 'function' ? next(recorded) : next;
        void this.#send(response, reply);
      });
    });
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async #send(response: ServerResponse, reply: StubReply | undefined): Promise<void> {
    if (!reply) {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ error: { message: 'the stub server has no reply scripted for this request' } }),
      );
      return;
    }
    if ('json' in reply) {
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(JSON.stringify(reply.json));
      return;
    }
    response.writeHead(reply.status ?? 200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...reply.headers,
    });
    const events = splitEvents(reply.sse);
    for (const [index, event] of events.entries()) {
      if (reply.stallAfterEvents !== undefined && index >= reply.stallAfterEvents) return;
      if (response.destroyed) return;
      response.write(event);
      await new Promise((resolve) => setTimeout(resolve, reply.eventDelayMs ?? 2));
    }
    response.end();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
