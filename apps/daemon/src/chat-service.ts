import type { ChatModel, ChatRequest, ChatStreamPart, Logger, Usage } from '@shammah/provider';
import type { DaemonMetrics } from './daemon-metrics.js';
import { NoTeacherError, ShuttingDownError, UnknownModelError } from './errors.js';
import { DAEMON_OPTIONS_KEY, type LocalChatModel } from './local-chat-model.js';
import type { SessionStore } from './session-store.js';

/** Which model answers, as a `route` stream part says (or as the daemon infers without a router). */
export interface RouteInfo {
  route: 'local' | 'teacher' | 'builtin';
  provider: string;
  model: string;
  reason?: string;
}

/** The model name that sends a request to a teacher whatever the router would decide. */
export const TEACHER_MODEL_NAME = 'teacher';

/** A model a request may name, as `GET /v1/models` lists it. */
export interface ServedModelInfo {
  id: string;
  ownedBy: string;
  /** What it is, for people. */
  description: string;
}

/** What one request runs in. */
export interface RunContext {
  requestId: string;
  /** The model the request names. */
  modelName: string;
  sessionId?: string;
  /** Whose line of the fair queue the request waits in. */
  queueKey: string;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  logger: Logger;
  /**
   * Wraps the model the request names before it answers: the daemon's server-side tool loop
   * (`ServerToolsModel`) for requests that ask the daemon to run its tools.
   */
  wrapModel?: (model: ChatModel) => ChatModel;
}

/**
 * One answer in progress: the route is known (the first part has arrived, so errors before it were
 * thrown from {@link ChatService.start} and can still be sent as an HTTP error); iterate it for the
 * parts, or cancel it.
 */
export interface ChatRun extends AsyncIterable<ChatStreamPart> {
  readonly route: RouteInfo;
  /** Aborts the generation (the client went away, or the daemon is shutting down). */
  cancel(reason?: unknown): void;
  /** True once the run was cancelled. */
  readonly cancelled: boolean;
}

/** Options of {@link ChatService}. */
export interface ChatServiceOptions {
  /** The model that answers by default: the router, or the local model or a teacher without one. */
  served: ChatModel;
  /** True when `served` is a router that reads a model name from `providerOptions['shammah-router']`. */
  routed: boolean;
  /** The local model as the router sees it (queued, with text tool calls), if there is one. */
  local?: LocalChatModel;
  teachers: readonly ChatModel[];
  /** The name of the default (routed) model. Default `shammah`. */
  defaultModelName: string;
  /** Refuse requests naming a model the daemon does not serve (404), instead of answering with the default. */
  strictModels: boolean;
  metrics: DaemonMetrics;
  sessions: SessionStore;
}

interface Target {
  model: ChatModel;
  routerModel?: string;
}

function teacherNameOf(model: ChatModel): string | undefined {
  const name = (model as ChatModel & { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/**
 * Runs chat requests for both wire protocols: picks the model a request names, sends it through the
 * router (or the one model), ties it to the client's connection and the daemon's shutdown, and keeps
 * the sessions and metrics up to date as answers stream.
 */
export class ChatService {
  readonly #options: ChatServiceOptions;
  readonly #runs = new Set<{ cancel(reason?: unknown): void; settled: Promise<void> }>();
  #closing = false;

  constructor(options: ChatServiceOptions) {
    this.#options = options;
  }

  /** The models a request may name. */
  models(): ServedModelInfo[] {
    const { defaultModelName, local, teachers, routed } = this.#options;
    const list: ServedModelInfo[] = [
      {
        id: defaultModelName,
        ownedBy: 'shammah',
        description: routed
          ? 'Shammah: the local model, or a teacher when the router decides so'
          : 'Shammah: the default model',
      },
    ];
    if (local) {
      list.push({ id: local.modelId, ownedBy: 'local', description: 'The local model' });
    }
    if (teachers.length > 0) {
      list.push({
        id: TEACHER_MODEL_NAME,
        ownedBy: 'shammah',
        description: 'Shammah: a teacher, whatever the router would decide (the first that answers)',
      });
    }
    for (const teacher of teachers) {
      list.push({
        id: teacher.modelId,
        ownedBy: teacher.provider,
        description: `Teacher ${teacherNameOf(teacher) ?? `${teacher.provider}:${teacher.modelId}`}`,
      });
    }
    const seen = new Set<string>();
    return list.filter((entry) => !seen.has(entry.id) && seen.add(entry.id));
  }

  /** The model a request's `model` names; unknown names get the default unless `strictModels`. */
  resolve(name: string): Target {
    const { served, routed, local, teachers, defaultModelName, strictModels } = this.#options;
    if (name === defaultModelName || name === 'auto') return { model: served };
    if (local && (name === 'local' || name === local.modelId)) {
      return routed ? { model: served, routerModel: 'local' } : { model: local };
    }
    if (name === TEACHER_MODEL_NAME) {
      // Forcing a teacher that does not exist must not quietly answer with the local model.
      if (teachers.length === 0) throw new NoTeacherError(this.models().map((entry) => entry.id));
      return routed ? { model: served, routerModel: TEACHER_MODEL_NAME } : { model: teachers[0]! };
    }
    const teacher = teachers.find(
      (candidate) =>
        candidate.modelId === name ||
        teacherNameOf(candidate) === name ||
        `${candidate.provider}:${candidate.modelId}` === name,
    );
    if (teacher) return routed ? { model: served, routerModel: name } : { model: teacher };
    if (strictModels) {
      throw new UnknownModelError(
        name,
        this.models().map((entry) => entry.id),
      );
    }
    return { model: served };
  }

  /** Whether the model a request names can read images. */
  acceptsImages(name: string): boolean {
    return this.resolve(name).model.capabilities.vision;
  }

  /** Stops taking requests; the runs in progress go on until {@link cancelAll} or their end. */
  stopAccepting(): void {
    this.#closing = true;
  }

  /** Requests being answered now. */
  get inFlight(): number {
    return this.#runs.size;
  }

  /** Resolves when every run in progress has ended, or after `timeoutMs`; returns whether all ended. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#runs.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const all = Promise.all([...this.#runs].map((run) => run.settled)).then(() => true as const);
    const result = await Promise.race([all, timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Cancels every run in progress. */
  cancelAll(reason: unknown): void {
    for (const run of this.#runs) run.cancel(reason);
  }

  /**
   * Starts answering `request`. Waits for the first part of the answer (after the queue and the
   * prompt), so that failures before it — a full queue, a model that is not ready, a teacher's
   * error — are thrown here and can be sent with their own HTTP status.
   */
  async start(request: ChatRequest, context: RunContext): Promise<ChatRun> {
    if (this.#closing) throw new ShuttingDownError();
    const { metrics, sessions } = this.#options;
    const target = this.resolve(context.modelName);
    const controller = new AbortController();
    const onClientGone = () => controller.abort(new Error('The client closed the connection.'));
    if (context.signal.aborted) onClientGone();
    else context.signal.addEventListener('abort', onClientGone, { once: true });

    const routed: ChatRequest = {
      ...request,
      signal: controller.signal,
      providerOptions: {
        ...request.providerOptions,
        [DAEMON_OPTIONS_KEY]: { queueKey: context.queueKey },
        ...(target.routerModel ? { 'shammah-router': { model: target.routerModel } } : {}),
      },
    };
    let route: RouteInfo = {
      route: target.model.provider === 'local' ? 'local' : 'teacher',
      provider: target.model.provider,
      model: target.model.modelId,
    };
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    let cancelled = false;
    const handle = {
      cancel: (reason?: unknown) => {
        cancelled = true;
        controller.abort(reason ?? new Error('The request was cancelled.'));
      },
      settled,
    };
    this.#runs.add(handle);
    metrics.inFlight.set(this.#runs.size);
    if (context.sessionId) sessions.begin(context.sessionId);

    let usage: Usage | undefined;
    let finished = false;
    let answering = false;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      context.signal.removeEventListener('abort', onClientGone);
      if (!finished && (controller.signal.aborted || context.signal.aborted)) {
        // Waiting: in the queue or reading the prompt; answering: the answer had begun.
        const stage = answering ? 'answering' : 'waiting';
        metrics.cancelled.inc({ stage });
        context.logger.info({ stage }, 'request cancelled');
      }
      if (usage) {
        context.logger.info(
          {
            route: route.route,
            provider: route.provider,
            model: route.model,
            ...(context.sessionId ? { sessionId: context.sessionId } : {}),
            promptTokens: usage.inputTokens,
            cachedPromptTokens: usage.cachedInputTokens ?? 0,
            completionTokens: usage.outputTokens,
          },
          'answer finished',
        );
      }
      if (context.sessionId) {
        sessions.end(context.sessionId, {
          ...(usage ? { usage } : {}),
          route: route.route,
          model: route.model,
        });
      }
      this.#runs.delete(handle);
      metrics.inFlight.set(this.#runs.size);
      settle();
    };

    let iterator: AsyncIterator<ChatStreamPart>;
    const buffered: ChatStreamPart[] = [];
    let exhausted = false;
    try {
      const model = context.wrapModel ? context.wrapModel(target.model) : target.model;
      iterator = model.stream(routed)[Symbol.asyncIterator]();
      for (;;) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        buffered.push(next.value);
        if (next.value.type === 'route') {
          route = routeOf(next.value);
          continue;
        }
        break;
      }
    } catch (error) {
      end();
      throw error;
    }

    const record = (part: ChatStreamPart) => {
      if (part.type === 'route') {
        route = routeOf(part);
        return;
      }
      if (part.type !== 'finish') {
        answering = true;
        return;
      }
      finished = true;
      usage = part.usage;
      const label = { route: route.route };
      metrics.generations.inc({ ...label, provider: route.provider, finish_reason: part.finishReason });
      metrics.promptTokens.inc(label, part.usage.inputTokens);
      metrics.cachedPromptTokens.inc(label, part.usage.cachedInputTokens ?? 0);
      metrics.completionTokens.inc(label, part.usage.outputTokens);
      if (part.timings?.decodeTokensPerSecond) {
        metrics.tokensPerSecond.observe(label, part.timings.decodeTokensPerSecond);
      }
      if (part.timings) metrics.timeToFirstToken.observe(label, part.timings.timeToFirstTokenMs / 1000);
      if (part.finishReason === 'abort') finished = false;
    };

    async function* parts(): AsyncGenerator<ChatStreamPart> {
      try {
        for (const part of buffered) {
          record(part);
          yield part;
        }
        if (exhausted) return;
        for (;;) {
          const next = await iterator.next();
          if (next.done) {
            exhausted = true;
            return;
          }
          record(next.value);
          yield next.value;
        }
      } finally {
        // Stops the model when the consumer left early (a closed connection).
        if (!exhausted) await iterator.return?.().catch(() => undefined);
        end();
      }
    }

    return {
      get route() {
        return route;
      },
      get cancelled() {
        return cancelled || context.signal.aborted;
      },
      cancel: handle.cancel,
      [Symbol.asyncIterator]: () => parts(),
    };
  }
}

function routeOf(part: Extract<ChatStreamPart, { type: 'route' }>): RouteInfo {
  return { route: part.route, provider: part.provider, model: part.model, reason: part.reason };
}
