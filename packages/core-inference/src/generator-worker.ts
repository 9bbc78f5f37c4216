// The worker side of WorkerGenerator: owns a Generator on its own thread, so ONNX Runtime's
// synchronous runs never block the main thread's event loop (HTTP, terminal redraws, Ctrl-C).
import { parentPort } from 'node:worker_threads';
import { Generator } from './generator.js';
import { postingLogger } from './thread-logger.js';
import { type FromWorker, serializeError, type ToWorker, type WireStatus } from './worker-protocol.js';

const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

let generator: Generator | undefined;
const controllers = new Map<number, AbortController>();

function wireStatus(): WireStatus {
  const status = generator!.status;
  return status.state === 'failed'
    ? { state: 'failed', reason: status.reason, error: serializeError(status.error) }
    : status;
}

function publishStatus(): void {
  post({ type: 'status', status: wireStatus(), capabilities: generator!.capabilities });
}

async function run(id: number, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  controllers.set(id, controller);
  try {
    await work(controller.signal);
    post({ type: 'end', id });
  } catch (error) {
    post({ type: 'error', id, error: serializeError(error) });
  } finally {
    controllers.delete(id);
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init': {
      generator = Generator.create({
        ...message.options,
        logger: postingLogger(post),
        onDownloadProgress: () => publishStatus(),
      });
      publishStatus();
      void generator.ready().then(publishStatus, publishStatus);
      break;
    }
    case 'tokens':
      void run(message.id, async (signal) => {
        for await (const event of generator!.generateTokens(message.promptIds, {
          ...message.options,
          signal,
        })) {
          post({ type: 'token', id: message.id, event });
        }
      });
      break;
    case 'chat':
      void run(message.id, async (signal) => {
        for await (const part of generator!.stream({ ...message.request, signal })) {
          post({ type: 'part', id: message.id, part });
        }
      });
      break;
    case 'score':
      void run(message.id, async () => {
        post({
          type: 'result',
          id: message.id,
          value: await generator!.scoreContinuation(message.prompt, message.continuation),
        });
      });
      break;
    case 'encode-chat':
      void run(message.id, async () => {
        await generator!.ready();
        post({
          type: 'result',
          id: message.id,
          value: generator!.tokenizer.encodeChat(message.request.messages, message.request.tools),
        });
      });
      break;
    case 'abort':
      controllers.get(message.id)?.abort();
      break;
    case 'clear-prefix-cache':
      generator?.clearPrefixCache();
      break;
    case 'dispose':
      void run(message.id, async () => {
        await generator?.dispose();
      });
      break;
  }
});
