import type { HealthReport } from '@shammah/daemon';
import {
  type ChatModel,
  type ChatRequest,
  type ChatStreamPart,
  collectStream,
  ShammahError,
} from '@shammah/provider';
import type { AnswerFeedback, Backend, BackendStatus, ModelEntry, RouteControls } from './backend.js';
import type { ConnectOptions } from './connect.js';
import { DaemonChatModel } from './daemon-client.js';
import { localModelUsesTools } from './local-tool-calls.js';

/** The daemon could not be used. */
export class DaemonUnavailableError extends ShammahError {
  override readonly name = 'DaemonUnavailableError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('daemon_unavailable', message, options);
  }
}

async function fetchHealth(url: string, timeoutMs = 1500): Promise<HealthReport | undefined> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok && response.status !== 503) return undefined;
    return (await response.json()) as HealthReport;
  } catch {
    return undefined;
  }
}

function urlOf(address: string): string {
  return /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
}

/** Estimates a teacher answer's cost from the price table, as the in-process router does. */
async function estimateCost(
  options: ConnectOptions,
  modelId: string,
  usage: { inputTokens: number; outputTokens: number },
): Promise<number | undefined> {
  const { costOf, resolveProvider } = await import('@shammah/teachers');
  const entry = options.config.teachers.find((teacher) => teacher.model === modelId);
  const overrides = entry?.price ? { [modelId]: entry.price } : {};
  if (entry) {
    try {
      return costOf(usage, modelId, overrides, resolveProvider(entry.provider));
    } catch {
      return undefined;
    }
  }
  for (const provider of ['anthropic', 'openai', 'gemini', 'xai', 'mistral', 'groq'] as const) {
    const cost = costOf(usage, modelId, overrides, provider);
    if (cost !== undefined) return cost;
  }
  return undefined;
}

/**
 * The daemon as the backend: finds the running daemon (its PID file, else `[client]
 * daemon_address`), starts it in the background when `[client] auto_spawn` allows, and keeps its
 * health fresh for the status bar. Answers stream over its OpenAI-compatible API; tools run here.
 */
export async function createDaemonBackend(options: ConnectOptions): Promise<Backend> {
  const { config, paths } = options;
  const { daemonStatus, startDaemon, DaemonAlreadyRunningError } = await import('@shammah/daemon');
  const address = config.client.daemon_address;
  let url: string | undefined;
  let pid: number | undefined;
  let health: HealthReport | undefined;
  let spawned = false;

  const running = await daemonStatus({ home: paths.home }).catch(() => undefined);
  if (running?.running && running.url) {
    url = running.url;
    pid = running.pid;
    health = running.health;
  } else {
    health = await fetchHealth(urlOf(address));
    if (health) url = urlOf(address);
  }
  if (!url) {
    if (!config.client.auto_spawn) {
      throw new DaemonUnavailableError(
        `No daemon answers at ${address} and [client] auto_spawn is off. Start it with \`shammah daemon start\`.`,
      );
    }
    options.onNotice?.(`Starting the daemon at ${address}…`, 'info');
    try {
      const started = await startDaemon({
        home: paths.home,
        args: ['--bind', address],
        readyTimeoutMs: config.client.timeout_seconds * 1000,
      });
      url = started.url;
      pid = started.pid;
      spawned = true;
    } catch (error) {
      if (!(error instanceof DaemonAlreadyRunningError)) {
        throw new DaemonUnavailableError(`The daemon could not be started: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const status = await daemonStatus({ home: paths.home });
      if (!status.running || !status.url)
        throw new DaemonUnavailableError('The daemon stopped as it started.');
      url = status.url;
      pid = status.pid;
    }
    health = await fetchHealth(url);
  }
  const baseUrl = url;
  let reachable = health !== undefined;

  // Keeps the status bar's model state and the daemon's reachability fresh.
  let poller: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const poll = async () => {
    const next = await fetchHealth(baseUrl);
    const changed =
      (next === undefined) !== !reachable ||
      next?.model?.state !== health?.model?.state ||
      next?.model?.progress !== health?.model?.progress;
    reachable = next !== undefined;
    if (next) health = next;
    if (changed) options.onChange?.();
    if (closed) return;
    poller = setTimeout(poll, health?.model?.state === 'ready' && reachable ? 5000 : 1000);
    poller.unref();
  };
  poller = setTimeout(poll, 500);
  poller.unref();

  // A daemon that just started reports its model `absent` until loading begins; with no teacher
  // to answer meanwhile, a request then fails, so the client waits for the model first.
  const loading = () => {
    const model = health?.model;
    if (!model) return false;
    if (model.state === 'loading' || model.state === 'downloading') return true;
    return model.state === 'absent' && (health?.uptimeSeconds ?? 0) < 30;
  };
  const waitForModel = async () => {
    const deadline = Date.now() + config.client.timeout_seconds * 1000;
    while (loading() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      health = (await fetchHealth(baseUrl)) ?? health;
    }
    options.onChange?.();
  };
  const teacherIds = () => (health?.teachers ?? []).map((teacher) => teacher.model);
  const localTiny = () => (health?.model ? !localModelUsesTools(health.model.id) : false);
  const sessionId = `cli-${process.pid}-${Date.now().toString(36)}`;

  const backend: Backend = {
    mode: 'daemon',
    model(controls: RouteControls = {}): ChatModel {
      let name = 'auto';
      if (controls.model && controls.model !== 'auto') name = controls.model;
      else if (controls.force === 'local') name = 'local';
      else if (controls.force === 'teacher') name = teacherIds()[0] ?? 'auto';
      const toTeacher = name !== 'auto' && name !== 'local' && name !== health?.model?.id;
      const client = new DaemonChatModel({
        url: () => baseUrl,
        model: name,
        sessionId,
        dropTools: localTiny() && !toTeacher,
      });
      const wrapped: ChatModel = {
        provider: client.provider,
        modelId: client.modelId,
        capabilities: client.capabilities,
        async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
          const started = performance.now();
          let route: string | undefined;
          let model = name;
          let usage = { inputTokens: 0, outputTokens: 0 };
          try {
            if (teacherIds().length === 0 && loading()) await waitForModel();
            for await (const part of client.stream(request)) {
              if (part.type === 'route') {
                route = part.route;
                model = part.model;
              } else if (part.type === 'finish') usage = part.usage;
              yield part;
            }
          } finally {
            if (controls.onDecision && route) {
              const costUsd = route === 'teacher' ? await estimateCost(options, model, usage) : undefined;
              controls.onDecision({
                route,
                reason: 'daemon',
                name: model,
                modelId: model,
                latencyMs: performance.now() - started,
                ...(costUsd !== undefined ? { costUsd } : {}),
              });
            }
          }
        },
        generate: (request) => collectStream(wrapped.stream(request)),
      };
      return wrapped;
    },
    status(): BackendStatus {
      const model = health?.model;
      return {
        mode: 'daemon',
        daemon: {
          state: reachable ? 'running' : 'unreachable',
          address: baseUrl.replace(/^https?:\/\//, ''),
          ...(pid ? { pid } : {}),
          ...(spawned ? { detail: 'started by this REPL' } : {}),
        },
        ...(model
          ? {
              local: {
                modelId: model.id,
                state: (['absent', 'downloading', 'loading', 'ready', 'failed'].includes(model.state)
                  ? model.state
                  : 'loading') as 'absent' | 'downloading' | 'loading' | 'ready' | 'failed',
                ...(model.progress !== undefined ? { progress: model.progress } : {}),
                ...(model.reason ? { reason: model.reason } : {}),
              },
            }
          : {}),
        teachers: (health?.teachers ?? []).map((teacher) => ({
          name: teacher.model,
          modelId: teacher.model,
        })),
        localTools: !localTiny(),
      };
    },
    async ready() {
      await waitForModel();
    },
    async feedback(feedback: AnswerFeedback) {
      // The daemon's router learns from feedback (the original's /v1/feedback); the training
      // queue was already written by the caller.
      await fetch(`${baseUrl}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: feedback.query,
          response: feedback.answer,
          rating: feedback.rating,
          ...(feedback.correction ? { correction: feedback.correction } : {}),
          // The caller wrote the training queue already: the daemon only updates its routing.
          train: false,
        }),
        signal: AbortSignal.timeout(3000),
      }).catch(() => undefined);
    },
    async models(): Promise<ModelEntry[]> {
      const entries: ModelEntry[] = [{ name: 'auto', kind: 'auto', detail: "the daemon's router decides" }];
      if (health?.model)
        entries.push({ name: 'local', kind: 'local', detail: `${health.model.id} (${health.model.state})` });
      for (const teacher of health?.teachers ?? [])
        entries.push({
          name: teacher.model,
          kind: 'teacher',
          detail: `${teacher.provider}:${teacher.model}`,
        });
      return entries;
    },
    async switchLocalModel(modelId: string) {
      throw new DaemonUnavailableError(
        `The daemon serves ${health?.model?.id ?? 'its configured model'}. To use ${modelId}, set it with \`shammah config set backend.model_repo ${modelId}\` and run \`shammah daemon restart\`, or start the REPL with --direct --model ${modelId}.`,
      );
    },
    async close() {
      closed = true;
      clearTimeout(poller);
    },
  };
  return backend;
}
