/** Writes server-sent events. */
export interface SseWriter {
  /** One event: `event: <name>` (when named) and `data: <json>`. */
  send(data: unknown, event?: string): void;
  /** A raw data line, such as OpenAI's `[DONE]`. */
  sendRaw(data: string): void;
  /** True once the client went away. */
  readonly closed: boolean;
}

/**
 * A streamed `text/event-stream` response. `produce` writes the events; the stream ends when it
 * returns. When the client goes away, `onCancel` is called (to stop the generation) and later writes
 * are dropped.
 */
export function sseResponse(
  headers: Record<string, string>,
  produce: (writer: SseWriter) => Promise<void>,
  onCancel: () => void,
  onEnd: () => void,
): Response {
  const encoder = new TextEncoder();
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          closed = true;
        }
      };
      const writer: SseWriter = {
        send(data, event) {
          write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
        },
        sendRaw(data) {
          write(`data: ${data}\n\n`);
        },
        get closed() {
          return closed;
        },
      };
      void produce(writer).finally(() => {
        if (!closed) {
          closed = true;
          try {
            controller.close();
          } catch {
            // Already cancelled by the client.
          }
        }
        onEnd();
      });
    },
    cancel() {
      closed = true;
      onCancel();
    },
  });
  return new Response(stream, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    },
  });
}
