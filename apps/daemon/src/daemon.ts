import { randomUUID, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createTeacherLearner } from '@shammah/lora';
import {
  type ChatModel,
  type ChatRequest,
  collectStream,
  type Logger,
  silentLogger,
} from '@shammah/provider';
import { type Context, Hono } from 'hono';
import { toChatRequestFromAnthropic, toCountRequest } from './anthropic-request.js';
import { anthropicMessage, messageId, streamAnthropicMessage } from './anthropic-response.js';
import { countTokensRequestSchema, messagesRequestSchema } from './anthropic-schema.js';
import { type ChatRun, ChatService, type RunContext } from './chat-service.js';
import { DaemonMetrics } from './daemon-metrics.js';
import { asLearningRouter, type DaemonTraining, type LearningRouter } from './daemon-training.js';
import {
  AuthenticationError,
  DaemonConfigError,
  DaemonStartError,
  NotFoundError,
  ShuttingDownError,
} from './errors.js';
import { registerFeedbackEndpoint } from './feedback-endpoint.js';
import { type ErrorProtocol, errorBody, errorHeaders, protocolOfPath, toHttpError } from './http-errors.js';
import type { LocalChatModel } from './local-chat-model.js';
import { toChatRequest } from './openai-request.js';
import { chatCompletion, completionId, streamChatCompletion } from './openai-response.js';
import { chatCompletionRequestSchema } from './openai-schema.js';
import { openApiDocument } from './openapi-document.js';
import { QueuedChatModel } from './queued-chat-model.js';
import { DEFAULT_MAX_BODY_BYTES, readJsonBody, validateBody } from './request-body.js';
import { FairRequestQueue } from './request-queue.js';
import { RouterMetrics } from './router-metrics.js';
import {
  assertServerToolsAllowed,
  SERVER_TOOLS_HEADER,
  type ServerToolsMode,
  ServerToolsModel,
  serverToolsRequested,
} from './server-tools.js';
import { SessionStore, validateSessionId } from './session-store.js';
import { sseResponse } from './sse.js';
import { registerStatusEndpoint } from './status-endpoint.js';
import { TextToolCallModel } from './text-tool-call-model.js';
import { registerTrainingStatusEndpoint } from './training-status-endpoint.js';

/** The daemon's default address: 127.0.0.1:11435 (11434 is Ollama's). */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 11435;

/** What the daemon is built from and how it behaves. */
export interface DaemonOptions {
  /** The local model (a `Generator`); the daemon queues it and gives it text tool calls. */
  local?: LocalChatModel;
  /** Cloud teachers. */
  teachers?: readonly ChatModel[];
  /**
   * Builds the model that answers requests from the local model (already queued and tool-capable) and
   * the teachers: the router (`createRouter` from `@shammah/router`). Without it the local model
   * answers, or the first teacher when there is no local model. A `Router` also gets feedback from
   * `POST /v1/feedback`, its decisions counted in `/metrics` and its learning shown in `/v1/status`.
   */
  route?: (models: { local?: LocalChatModel; teachers: readonly ChatModel[] }) => ChatModel;
  /** Default 127.0.0.1. Any other address requires `apiKeys`. */
  host?: string;
  /** Default 11435; 0 picks a free port. */
  port?: number;
  /** Keys accepted as `Authorization: Bearer <key>` or `x-api-key: <key>`; none means no authentication. */
  apiKeys?: readonly string[];
  /** Most sessions kept. Default 100. */
  maxSessions?: number;
  /** Sessions unused this long are dropped. Default 30 minutes. */
  sessionIdleTimeoutMs?: number;
  /** Requests that may wait for the local model; more get 429. Default 32. */
  maxQueuedRequests?: number;
  /**
   * Requests the local model serves at once (its batch size: they are decoded together). Default 1:
   * one at a time, the others wait in the fair queue.
   */
  localConcurrency?: number;
  /** Largest request body. Default 4 MiB; larger bodies get 413. */
  maxBodyBytes?: number;
  /** How long shutdown lets requests in progress finish before cancelling them. Default 10 s. */
  shutdownGraceMs?: number;
  /** The name of the default model in `/v1/models`. Default `shammah`. */
  defaultModelName?: string;
  /** Refuse requests naming a model the daemon does not serve (404) instead of answering with the default. */
  strictModels?: boolean;
  /** Counts a request's prompt tokens (count_tokens). Default: the local model's tokenizer, else an estimate. */
  countTokens?: (request: ChatRequest) => number | Promise<number>;
  /** A pino logger (only the app creates one); requests are logged through `child({ reqId })`. */
  logger?: Logger;
  /** Reported by /health. */
  version?: string;
  /** Include Node's process metrics in /metrics. Default true. */
  defaultMetrics?: boolean;
  /**
   * LoRA learning: the training queue `POST /v1/feedback` (and, opted in, teacher answers) write to,
   * and what `GET /v1/training/status` reports. Without it feedback only updates the router.
   */
  training?: DaemonTraining;
  /**
   * Whether the daemon runs Shammah's own tools for requests that ask it to (`x-shammah-tools: server`
   * or `shammah_tools: "server"`): `off` (default; such requests get 403), `read-only` (Read, Glob and
   * Grep inside `toolsDir`) or `all` (also Write, Edit, Bash and WebFetch). Requests without the opt-in
   * always get tool calls passed through to them.
   */
  tools?: ServerToolsMode;
  /** Where server-side tools run and the files they may read and write. Default the daemon's cwd. */
  toolsDir?: string;
  /** Most model turns of one server-side tool loop. Default 8. */
  maxToolTurns?: number;
}

/** Where a listening daemon is. */
export interface DaemonAddress {
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
}

/** What `GET /health` reports. */
export interface HealthReport {
  status: 'ok' | 'starting' | 'degraded' | 'stopping';
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  address: string | null;
  model: {
    id: string;
    state: string;
    progress?: number;
    reason?: string;
    variant?: string;
  } | null;
  teachers: Array<{ provider: string; model: string }>;
  sessions: { count: number; max: number };
  queue: { queued: number; active: number; max: number };
  inFlight: number;
}

/** A daemon: its HTTP app, and the server it listens with. */
export interface Daemon {
  /** The Hono app (its `fetch` answers requests without a socket). */
  readonly app: Hono<DaemonEnv>;
  /** Starts listening; resolves with the address. */
  listen(): Promise<DaemonAddress>;
  readonly address: DaemonAddress | undefined;
  /**
   * Shuts down gracefully: stops taking requests, lets those in progress finish for `graceMs`, cancels
   * the rest, and closes the server.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  health(): HealthReport;
  readonly sessions: SessionStore;
  readonly metrics: DaemonMetrics;
  readonly queue: FairRequestQueue;
  /** The router, when `route` returned a `Router` from `@shammah/router`. */
  readonly router: LearningRouter | undefined;
}

/** Variables a request carries through the app. */
interface DaemonVariables {
  requestId: string;
  logger: Logger;
  /** The route label for metrics: the endpoint's path pattern. */
  routeLabel: string;
  /** Resolves when a streamed response has ended. */
  streamDone: Promise<void> | undefined;
}

/** The Hono environment of the daemon's app. */
export interface DaemonEnv {
  Variables: DaemonVariables;
}

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

function keyMatches(given: string, keys: readonly string[]): boolean {
  const candidate = Buffer.from(given);
  let match = false;
  for (const key of keys) {
    const expected = Buffer.from(key);
    if (expected.length === candidate.length && timingSafeEqual(expected, candidate)) match = true;
  }
  return match;
}

function estimateTokens(request: ChatRequest): number {
  let characters = JSON.stringify(request.tools ?? []).length;
  for (const message of request.messages) characters += JSON.stringify(message.content).length + 8;
  return Math.ceil(characters / 4);
}

type Encoders = {
  /** `WorkerGenerator`: the tokenizer lives on the worker. */
  encodeChat?: (request: Pick<ChatRequest, 'messages' | 'tools'>) => Promise<number[]>;
  /** `Generator`: the tokenizer is at hand. */
  tokenizer?: { encodeChat(messages: ChatRequest['messages'], tools?: ChatRequest['tools']): number[] };
};

/** Counts prompt tokens with the local model's tokenizer when it is ready, else estimates (~4 characters a token). */
function tokenCounter(local: LocalChatModel | undefined): (request: ChatRequest) => Promise<number> {
  return async (request) => {
    if (local && local.status.state === 'ready') {
      const encoders = local as LocalChatModel & Encoders;
      try {
        if (typeof encoders.encodeChat === 'function') {
          return (
            await encoders.encodeChat({
              messages: request.messages,
              ...(request.tools ? { tools: request.tools } : {}),
            })
          ).length;
        }
        if (encoders.tokenizer) return encoders.tokenizer.encodeChat(request.messages, request.tools).length;
      } catch {
        // The tokenizer could not render this conversation: estimate.
      }
    }
    return estimateTokens(request);
  };
}

function sessionIdOf(
  c: Context<DaemonEnv>,
  fromBody: string | null | undefined,
  bodySource: string,
): string | undefined {
  const header = c.req.header('x-session-id');
  if (header !== undefined && header !== '') return validateSessionId(header, 'the x-session-id header');
  if (fromBody) return validateSessionId(fromBody, bodySource);
  return undefined;
}

/**
 * Creates the daemon: OpenAI-compatible `/v1/chat/completions` and `/v1/models`, Anthropic-compatible
 * `/v1/messages` and `/v1/messages/count_tokens`, sessions, `/health` and Prometheus `/metrics`, over
 * the local model (queued fairly) and the teachers, through the router when one is given.
 *
 * @example
 * ```ts
 * import { Generator } from '@shammah/core-inference';
 * import { createDaemon } from '@shammah/daemon';
 *
 * const daemon = createDaemon({ local: Generator.create({ model: 'HuggingFaceTB/SmolLM2-135M-Instruct' }) });
 * const { url } = await daemon.listen(); // http://127.0.0.1:11435
 * process.on('SIGTERM', () => void daemon.close());
 * ```
 */
export function createDaemon(options: DaemonOptions = {}): Daemon {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const apiKeys = (options.apiKeys ?? []).filter((key) => key !== '');
  const toolsMode = options.tools ?? 'off';
  if (toolsMode !== 'off' && toolsMode !== 'read-only' && toolsMode !== 'all') {
    throw new DaemonConfigError(
      `[server] tools is "${String(toolsMode)}", but it must be "off", "read-only" or "all".`,
    );
  }
  if (toolsMode === 'all' && !isLoopback(host) && apiKeys.length === 0) {
    throw new DaemonConfigError(
      `[server] tools = "all" lets clients run commands and write files on this machine, and the daemon binds ` +
        `to ${host} without authentication. Turn authentication on ([server] auth_enabled = true with ` +
        'api_keys), bind to 127.0.0.1, or use tools = "read-only".',
    );
  }
  if (!isLoopback(host) && apiKeys.length === 0) {
    throw new DaemonConfigError(
      `Binding to ${host} exposes the daemon beyond this machine, so it needs an API key: set [server] api_keys ` +
        '(and auth_enabled = true) in config.toml, pass --api-key, or bind to 127.0.0.1.',
    );
  }
  const toolsDir = resolvePath(options.toolsDir ?? process.cwd());
  if (toolsMode !== 'off') {
    let isDirectory = false;
    try {
      isDirectory = statSync(toolsDir).isDirectory();
    } catch {
      isDirectory = false;
    }
    if (!isDirectory) {
      throw new DaemonConfigError(
        `[server] tools_dir is "${toolsDir}", which is not a directory. Point it at the directory whose files ` +
          "the daemon's tools may use, or create it.",
      );
    }
  }
  const log = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const version = options.version ?? '0.0.0';
  const startedAt = new Date();
  const metrics = new DaemonMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const sessions = new SessionStore({
    ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}),
    ...(options.sessionIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.sessionIdleTimeoutMs } : {}),
    onChange: (count) => metrics.sessions.set(count),
  });
  const queue = new FairRequestQueue({
    ...(options.maxQueuedRequests !== undefined ? { maxQueued: options.maxQueuedRequests } : {}),
    onChange: ({ queued, active }) => {
      metrics.queueDepth.set(queued);
      metrics.queueActive.set(active);
    },
    onReject: () => metrics.queueRejected.inc(),
  });
  const teachers = options.teachers ?? [];
  const local = options.local
    ? new TextToolCallModel(new QueuedChatModel(options.local, queue, options.localConcurrency ?? 1), {
        logger: log,
      })
    : undefined;
  const served = options.route
    ? options.route({ ...(local ? { local } : {}), teachers })
    : (local ?? teachers[0]);
  if (!served) {
    throw new DaemonConfigError(
      'The daemon has no model: give it a local model (`local`), teachers, or both. In config.toml, set ' +
        '[backend] model_repo, or add a [[teachers]] entry.',
    );
  }
  const router = asLearningRouter(served);
  const routerMetrics = router ? new RouterMetrics(metrics.registry) : undefined;
  const learnFromTeacher =
    options.training?.learnFromTeachers === true
      ? createTeacherLearner({
          settings: { learn_from_teachers: true },
          queue: options.training.coordinator.queue,
          coordinator: options.training.coordinator,
          logger: log,
        })
      : undefined;
  const unsubscribe = router?.onDecision((decision) => {
    routerMetrics?.observe(decision);
    if (learnFromTeacher && decision.route === 'teacher') void learnFromTeacher(decision);
  });
  const service = new ChatService({
    served,
    routed: options.route !== undefined,
    ...(local ? { local } : {}),
    teachers,
    defaultModelName: options.defaultModelName ?? 'shammah',
    strictModels: options.strictModels ?? false,
    metrics,
    sessions,
  });
  const countTokens = options.countTokens ?? tokenCounter(options.local);
  let server: Server | undefined;
  let address: DaemonAddress | undefined;
  let closing: Promise<void> | undefined;

  const health = (): HealthReport => {
    const status = options.local?.status;
    metrics.setModelState(status?.state);
    let overall: HealthReport['status'] = 'ok';
    if (closing) overall = 'stopping';
    else if (status?.state === 'failed') overall = 'degraded';
    else if (status && status.state !== 'ready' && teachers.length === 0) overall = 'starting';
    return {
      status: overall,
      version,
      pid: process.pid,
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
      address: address ? `${address.host}:${address.port}` : null,
      model:
        options.local && status
          ? {
              id: options.local.modelId,
              state: status.state,
              ...(status.progress !== undefined ? { progress: status.progress } : {}),
              ...(status.reason !== undefined ? { reason: status.reason } : {}),
              ...(status.variant !== undefined ? { variant: status.variant } : {}),
            }
          : null,
      teachers: teachers.map((teacher) => ({ provider: teacher.provider, model: teacher.modelId })),
      sessions: { count: sessions.size, max: sessions.maxSessions },
      queue: { queued: queue.queued, active: queue.active, max: queue.maxQueued },
      inFlight: service.inFlight,
    };
  };

  const app = new Hono<DaemonEnv>();

  const sendError = (c: Context<DaemonEnv>, error: unknown, protocol: ErrorProtocol): Response => {
    const requestId = c.get('requestId') ?? 'unknown';
    const httpError = toHttpError(error, requestId);
    const logger = c.get('logger') ?? log;
    metrics.errors.inc({ code: httpError.internalCode });
    if (httpError.unexpected) logger.error({ err: error }, 'request failed');
    else logger.info({ code: httpError.internalCode, status: httpError.status }, httpError.message);
    return c.json(errorBody(httpError, protocol, requestId), httpError.status as 400, {
      ...errorHeaders(httpError),
      'x-request-id': requestId,
      ...(protocol === 'anthropic' ? { 'request-id': requestId } : {}),
    });
  };

  app.use(async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : `req_${randomUUID().replaceAll('-', '')}`;
    c.set('requestId', requestId);
    c.set('routeLabel', 'unmatched');
    c.set('streamDone', undefined);
    const logger = log.child({ reqId: requestId });
    c.set('logger', logger);
    await next();
    c.res.headers.set('x-request-id', requestId);
    const route = c.get('routeLabel');
    const finish = () => {
      const seconds = (performance.now() - started) / 1000;
      metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
      metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
      if (route !== '/metrics' && route !== '/health') {
        logger.info(
          { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 1000) },
          'request',
        );
      }
    };
    const streamDone = c.get('streamDone');
    if (streamDone) void streamDone.then(finish);
    else finish();
  });

  app.use(async (c, next) => {
    if (apiKeys.length === 0 || (c.req.method === 'GET' && c.req.path === '/health')) return next();
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    const key = bearer ?? c.req.header('x-api-key');
    if (!key || !keyMatches(key, apiKeys)) {
      return sendError(
        c,
        new AuthenticationError(
          key
            ? 'The API key is not one this daemon accepts. Check [server] api_keys in config.toml.'
            : 'This daemon needs an API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`.',
        ),
        protocolOfPath(c.req.path),
      );
    }
    return next();
  });

  app.onError((error, c) => sendError(c, error, protocolOfPath(c.req.path)));
  app.notFound((c) =>
    sendError(
      c,
      new NotFoundError(
        `There is no ${c.req.method} ${c.req.path} endpoint. The daemon serves POST /v1/chat/completions, ` +
          'GET /v1/models, POST /v1/messages, POST /v1/messages/count_tokens, GET|DELETE /v1/session/{id}, ' +
          'POST /v1/feedback, GET /v1/training/status, GET /v1/status, GET /health, GET /metrics and ' +
          'GET /openapi.json (which describes them all).',
      ),
      protocolOfPath(c.req.path),
    ),
  );

  const runContext = (
    c: Context<DaemonEnv>,
    modelName: string,
    sessionId: string | undefined,
    serverTools = false,
  ): RunContext => {
    let remote: string | undefined;
    try {
      remote = getConnInfo(c).remote.address;
    } catch {
      remote = undefined;
    }
    return {
      requestId: c.get('requestId'),
      modelName,
      ...(sessionId ? { sessionId } : {}),
      queueKey: sessionId ? `session:${sessionId}` : `address:${remote ?? 'unknown'}`,
      signal: c.req.raw.signal,
      logger: c.get('logger'),
      ...(serverTools && toolsMode !== 'off'
        ? {
            wrapModel: (model) =>
              new ServerToolsModel(model, {
                mode: toolsMode,
                toolsDir,
                logger: c.get('logger'),
                ...(options.maxToolTurns !== undefined ? { maxTurns: options.maxToolTurns } : {}),
              }),
          }
        : {}),
    };
  };

  /** Whether the request asks the daemon to run its tools; refused (403) when the config does not allow it. */
  const wantsServerTools = (c: Context<DaemonEnv>, field: string | null | undefined): boolean => {
    const wanted = serverToolsRequested(c.req.header(SERVER_TOOLS_HEADER), field);
    if (wanted) assertServerToolsAllowed(toolsMode);
    return wanted;
  };

  const answerHeaders = (c: Context<DaemonEnv>, run: ChatRun, sessionId: string | undefined) => ({
    'x-request-id': c.get('requestId'),
    'x-shammah-route': run.route.route,
    'x-shammah-model': run.route.model,
    ...(run.route.reason ? { 'x-shammah-reason': run.route.reason } : {}),
    ...(sessionId ? { 'x-session-id': sessionId } : {}),
  });

  const streamed = (
    c: Context<DaemonEnv>,
    run: ChatRun,
    headers: Record<string, string>,
    produce: Parameters<typeof sseResponse>[1],
  ): Response => {
    let done!: () => void;
    c.set(
      'streamDone',
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    return sseResponse(
      headers,
      produce,
      () => run.cancel(new Error('The client closed the stream.')),
      () => done(),
    );
  };

  const shuttingDown = (c: Context<DaemonEnv>) => toHttpError(new ShuttingDownError(), c.get('requestId'));

  /** A whole answer that was cut short: by the client hanging up (nobody to tell), or by shutdown. */
  const cancelledAnswer = (c: Context<DaemonEnv>): Response => {
    // 499 (nginx's "client closed request") shows in the metrics; no client reads it.
    if (c.req.raw.signal.aborted) return new Response(null, { status: 499 });
    throw new ShuttingDownError();
  };

  app.post('/v1/chat/completions', async (c) => {
    c.set('routeLabel', '/v1/chat/completions');
    const body = validateBody(
      chatCompletionRequestSchema,
      await readJsonBody(c.req.raw, maxBodyBytes),
      'openai',
    );
    const sessionId = sessionIdOf(
      c,
      body.metadata?.session_id ?? body.user,
      body.metadata?.session_id ? 'metadata.session_id' : 'user',
    );
    const serverTools = wantsServerTools(c, body.shammah_tools);
    const request = toChatRequest(body, { acceptsImages: service.acceptsImages(body.model) });
    const run = await service.start(request, runContext(c, body.model, sessionId, serverTools));
    const meta = { id: completionId(), created: Math.floor(Date.now() / 1000), model: run.route.model };
    const headers = answerHeaders(c, run, sessionId);
    if (body.stream) {
      return streamed(c, run, headers, (writer) =>
        streamChatCompletion(run, writer, meta, {
          includeUsage: body.stream_options?.include_usage === true,
          logprobs: body.logprobs === true,
          toHttpError: (error) => {
            const httpError = toHttpError(error, c.get('requestId'));
            metrics.errors.inc({ code: httpError.internalCode });
            if (httpError.unexpected) c.get('logger').error({ err: error }, 'stream failed');
            return httpError;
          },
          cancelledError: () => shuttingDown(c),
        }),
      );
    }
    const result = await collectStream(run);
    if (result.finishReason === 'abort') return cancelledAnswer(c);
    return c.json(chatCompletion(meta, result, body.logprobs === true), 200, headers);
  });

  app.post('/v1/messages', async (c) => {
    c.set('routeLabel', '/v1/messages');
    const body = validateBody(
      messagesRequestSchema,
      await readJsonBody(c.req.raw, maxBodyBytes),
      'anthropic',
    );
    const sessionId = sessionIdOf(c, body.metadata?.user_id, 'metadata.user_id');
    const serverTools = wantsServerTools(c, body.shammah_tools);
    const request = toChatRequestFromAnthropic(body, { acceptsImages: service.acceptsImages(body.model) });
    // Counted while the answer starts, for message_start (the exact count comes with message_delta).
    const inputTokens = body.stream
      ? (async () => countTokens(request))().catch(() => 0)
      : Promise.resolve(0);
    const run = await service.start(request, runContext(c, body.model, sessionId, serverTools));
    const id = messageId();
    const headers = { ...answerHeaders(c, run, sessionId), 'request-id': c.get('requestId') };
    if (body.stream) {
      const estimatedInputTokens = await inputTokens;
      return streamed(c, run, headers, (writer) =>
        streamAnthropicMessage(
          run,
          writer,
          { id, model: run.route.model },
          {
            estimatedInputTokens,
            ...(body.stop_sequences ? { stopSequences: body.stop_sequences } : {}),
            toHttpError: (error) => {
              const httpError = toHttpError(error, c.get('requestId'));
              metrics.errors.inc({ code: httpError.internalCode });
              if (httpError.unexpected) c.get('logger').error({ err: error }, 'stream failed');
              return httpError;
            },
            cancelledError: () => shuttingDown(c),
          },
        ),
      );
    }
    const result = await collectStream(run);
    if (result.finishReason === 'abort') return cancelledAnswer(c);
    return c.json(anthropicMessage(id, run.route.model, result, body.stop_sequences), 200, headers);
  });

  app.post('/v1/messages/count_tokens', async (c) => {
    c.set('routeLabel', '/v1/messages/count_tokens');
    const body = validateBody(
      countTokensRequestSchema,
      await readJsonBody(c.req.raw, maxBodyBytes),
      'anthropic',
    );
    const request = toCountRequest(body, { acceptsImages: true });
    return c.json({ input_tokens: await countTokens(request) }, 200, { 'request-id': c.get('requestId') });
  });

  const modelList = () => service.models();
  const created = Math.floor(startedAt.getTime() / 1000);
  const openaiModel = (entry: ReturnType<typeof modelList>[number]) => ({
    id: entry.id,
    object: 'model',
    created,
    owned_by: entry.ownedBy,
  });
  const anthropicModel = (entry: ReturnType<typeof modelList>[number]) => ({
    type: 'model',
    id: entry.id,
    display_name: entry.description,
    created_at: startedAt.toISOString(),
  });

  app.get('/v1/models', (c) => {
    c.set('routeLabel', '/v1/models');
    const list = modelList();
    if (c.req.header('anthropic-version')) {
      return c.json({
        data: list.map(anthropicModel),
        has_more: false,
        first_id: list[0]?.id ?? null,
        last_id: list.at(-1)?.id ?? null,
      });
    }
    return c.json({ object: 'list', data: list.map(openaiModel) });
  });

  app.get('/v1/models/:id{.+}', (c) => {
    c.set('routeLabel', '/v1/models/{id}');
    const id = c.req.param('id');
    const entry = modelList().find((candidate) => candidate.id === id);
    if (!entry) {
      throw new NotFoundError(
        `The model "${id}" does not exist here. GET /v1/models lists the models this daemon serves.`,
        { code: 'unknown_model' },
      );
    }
    return c.json(c.req.header('anthropic-version') ? anthropicModel(entry) : openaiModel(entry));
  });

  app.get('/v1/sessions', (c) => {
    c.set('routeLabel', '/v1/sessions');
    return c.json({ object: 'list', data: sessions.list() });
  });

  app.get('/v1/session/:id', (c) => {
    c.set('routeLabel', '/v1/session/{id}');
    const id = c.req.param('id');
    const session = sessions.get(id);
    if (!session) {
      throw new NotFoundError(
        `There is no session "${id}": it was never used, or it was dropped after being idle. A request with ` +
          'the header x-session-id starts one.',
        { code: 'session_not_found' },
      );
    }
    return c.json({ object: 'session', ...session });
  });

  app.delete('/v1/session/:id', (c) => {
    c.set('routeLabel', '/v1/session/{id}');
    const id = c.req.param('id');
    if (!sessions.delete(id)) {
      throw new NotFoundError(`There is no session "${id}" to delete.`, { code: 'session_not_found' });
    }
    return c.json({ id, object: 'session.deleted', deleted: true });
  });

  registerFeedbackEndpoint(app, { router, training: options.training, maxBodyBytes });
  registerTrainingStatusEndpoint(app, options.training);
  registerStatusEndpoint(app, { health, router, training: options.training });

  app.get('/openapi.json', (c) => {
    c.set('routeLabel', '/openapi.json');
    return c.json(openApiDocument({ version, ...(address ? { serverUrl: address.url } : {}) }));
  });

  app.get('/health', (c) => {
    c.set('routeLabel', '/health');
    return c.json(health());
  });

  app.get('/metrics', async (c) => {
    c.set('routeLabel', '/metrics');
    metrics.setModelState(options.local?.status.state);
    if (router) routerMetrics?.update(router.snapshot());
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  app.get('/', (c) => {
    c.set('routeLabel', '/');
    return c.text(
      `Shammah daemon ${version} is running. See GET /health, /v1/status, /v1/models, /openapi.json.\n`,
    );
  });

  return {
    app,
    get address() {
      return address;
    },
    sessions,
    metrics,
    queue,
    router,
    health,
    listen() {
      if (server) return Promise.reject(new DaemonStartError('The daemon is already listening.'));
      const created = createAdaptorServer({ fetch: app.fetch }) as Server;
      server = created;
      return new Promise<DaemonAddress>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          server = undefined;
          reject(
            new DaemonStartError(
              error.code === 'EADDRINUSE'
                ? `The address ${host}:${port} is in use: another daemon (or program) listens there. Stop it, or ` +
                    'choose another port with --bind or [server] bind_address.'
                : `The daemon could not listen on ${host}:${port}: ${error.message}`,
              { cause: error },
            ),
          );
        };
        created.once('error', onError);
        created.listen(port, host, () => {
          created.off('error', onError);
          const info = created.address() as AddressInfo;
          const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
          address = { host: info.address, port: info.port, url: `http://${shownHost}:${info.port}` };
          sessions.startSweeping();
          log.info({ address: address.url }, 'daemon listening');
          resolve(address);
        });
      });
    },
    close(closeOptions = {}) {
      if (closing) return closing;
      closing = (async () => {
        const graceMs = closeOptions.graceMs ?? options.shutdownGraceMs ?? 10_000;
        log.info({ inFlight: service.inFlight, graceMs }, 'daemon shutting down');
        service.stopAccepting();
        queue.rejectAll(new ShuttingDownError());
        const closed = server
          ? new Promise<void>((resolve) => server!.close(() => resolve()))
          : Promise.resolve();
        server?.closeIdleConnections();
        if (!(await service.drain(graceMs))) {
          log.warn({ inFlight: service.inFlight }, 'cancelling requests still in progress');
          service.cancelAll(new ShuttingDownError());
          await service.drain(5_000);
        }
        // Let the last bytes of cancelled streams reach their clients before the sockets close.
        await new Promise((resolve) => setTimeout(resolve, 50));
        server?.closeAllConnections();
        await closed;
        sessions.stopSweeping();
        unsubscribe?.();
        log.info('daemon stopped');
      })();
      return closing;
    },
  };
}
