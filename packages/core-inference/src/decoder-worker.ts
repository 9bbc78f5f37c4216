// The thread side of ThreadedDecoder: owns one DecoderSession and the KV caches of its sequences.
// Messages are handled strictly in the order they came, so a truncate sent after a forward
// applies after it.
import { parentPort } from 'node:worker_threads';
import { DecoderSession } from './decoder-session.js';
import type { KvCache, SharedKvCache } from './kv-cache.js';
import { postingLogger } from './thread-logger.js';
import type { FromDecoderThread, ToDecoderThread } from './threaded-decoder.js';
import { serializeError } from './worker-protocol.js';

const port = parentPort!;
const post = (message: FromDecoderThread, transfer: ArrayBuffer[] = []) =>
  port.postMessage(message, transfer);

let session: DecoderSession | undefined;
let logits: Float32Array | undefined;
const caches = new Map<number, KvCache | SharedKvCache>();

function cacheOf(id: number): KvCache | SharedKvCache {
  const cache = caches.get(id);
  if (!cache) throw new Error(`No KV cache ${id} on the model thread.`);
  return cache;
}

async function handle(message: ToDecoderThread): Promise<void> {
  switch (message.type) {
    case 'open': {
      try {
        session = await DecoderSession.open(message.path, message.config, {
          ...message.options,
          logger: postingLogger(post),
        });
      } catch (error) {
        post({ type: 'error', id: 0, error: serializeError(error) });
        port.close();
        return;
      }
      const shared = new SharedArrayBuffer(session.layout.vocabSize * Float32Array.BYTES_PER_ELEMENT);
      logits = new Float32Array(shared);
      post({
        type: 'opened',
        layout: session.layout,
        executionProvider: session.executionProvider,
        batchSlots: session.batchSlots,
        logits: shared,
      });
      return;
    }
    case 'create-cache':
      caches.set(message.cache, session!.createCache(message.capacity));
      return;
    case 'truncate':
      cacheOf(message.cache).truncate(message.length);
      return;
    case 'set-batching':
      session!.setBatching(cacheOf(message.cache), message.member);
      return;
    case 'release-cache':
      caches.get(message.cache)?.release();
      caches.delete(message.cache);
      return;
    case 'forward': {
      try {
        const cache = cacheOf(message.cache);
        const result = await session!.forward(message.ids, cache, message.allPositions);
        if (message.allPositions || message.copy) {
          // Rows of several positions are a fresh array: hand its memory over instead of copying
          // it. One position's row is the session's reused step buffer, so it is copied.
          const rows = message.allPositions && message.ids.length > 1 ? result : result.slice();
          post({ type: 'forwarded', id: message.id, length: cache.length, rows }, [
            rows.buffer as ArrayBuffer,
          ]);
        } else {
          logits!.set(result);
          post({ type: 'forwarded', id: message.id, length: cache.length });
        }
      } catch (error) {
        post({ type: 'error', id: message.id, error: serializeError(error) });
      }
      return;
    }
    case 'forward-each': {
      try {
        const caches = message.steps.map((step) => cacheOf(step.cache));
        const rows = await session!.forwardEach(
          message.steps.map((step, index) => ({ id: step.token, cache: caches[index]! })),
        );
        post(
          {
            type: 'forwarded-each',
            id: message.id,
            lengths: caches.map((cache) => cache.length),
            rows,
          },
          rows.map((row) => row.buffer as ArrayBuffer),
        );
      } catch (error) {
        post({ type: 'error', id: message.id, error: serializeError(error) });
      }
      return;
    }
    case 'release':
      for (const cache of caches.values()) cache.release();
      caches.clear();
      await session?.release();
      session = undefined;
      post({ type: 'released', id: message.id });
      port.close();
      return;
  }
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (message: ToDecoderThread) => {
  queue = queue
    .then(() => handle(message))
    .catch((error: unknown) => {
      // Requests answer their own errors; this is for a message that has no one to answer.
      postingLogger(post, { module: 'decoder-worker' }).error(
        { error: String(error) },
        'model thread message failed',
      );
    });
});
