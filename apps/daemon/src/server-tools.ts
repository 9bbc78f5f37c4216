import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type FinishReason,
  type Logger,
  type ModelCapabilities,
  silentLogger,
} from '@shammah/provider';
import {
  type AnyTool,
  createCodingTools,
  createPermissionPolicy,
  isInsideDirectory,
  type PermissionAnswer,
  type PermissionPolicy,
  type PermissionPrompt,
  resolvePhysicalPath,
  runToolLoop,
} from '@shammah/tools';
import { InvalidRequestError, ServerToolsDisabledError } from './errors.js';

/**
 * Which of Shammah's own tools the daemon may run for clients that ask it to:
 * - `off`: none (the default); a request that asks gets 403.
 * - `read-only`: Read, Glob and Grep inside `tools_dir`; everything else is denied.
 * - `all`: also Write and Edit inside `tools_dir`, Bash (in `tools_dir`) and WebFetch.
 */
export type ServerToolsMode = 'off' | 'read-only' | 'all';

/** The request header that asks the daemon to run its own tools. */
export const SERVER_TOOLS_HEADER = 'x-shammah-tools';
/** The body field that asks the same (OpenAI SDKs: `extra_body`; Anthropic SDKs: an extra field). */
export const SERVER_TOOLS_FIELD = 'shammah_tools';

/** Default most model turns of one server-side tool loop. */
export const DEFAULT_SERVER_TOOL_TURNS = 8;

/**
 * Whether a request asks the daemon to run its own tools: the header `x-shammah-tools: server` or the
 * body field `shammah_tools: "server"`. `client` (or nothing) keeps tool pass-through. Anything else is
 * a 400, so a typo never silently falls back to pass-through.
 */
export function serverToolsRequested(header: string | undefined, field: string | null | undefined): boolean {
  const values: Array<[string, string]> = [];
  if (header !== undefined && header.trim() !== '')
    values.push([`the ${SERVER_TOOLS_HEADER} header`, header]);
  if (field !== undefined && field !== null) values.push([SERVER_TOOLS_FIELD, field]);
  let server = false;
  for (const [source, raw] of values) {
    const value = raw.trim().toLowerCase();
    if (value === 'server') server = true;
    else if (value !== 'client') {
      throw new InvalidRequestError(
        `${source} is "${raw}", but it must be "server" (the daemon runs its own tools) or "client" ` +
          '(tool calls are returned to you, the default).',
        { param: SERVER_TOOLS_FIELD },
      );
    }
  }
  return server;
}

/** Refuses a request that asks for server tools when the daemon's config does not allow them. */
export function assertServerToolsAllowed(mode: ServerToolsMode): void {
  if (mode === 'off') throw new ServerToolsDisabledError();
}

/**
 * The daemon's answer to a call the permission rules would ask a person about (nobody is there to ask):
 * with `all`, writes inside the tools directory, commands and fetches are allowed; everything else —
 * any write under `read-only`, reads and writes outside the tools directory — is denied with a reason
 * the model reads.
 */
export function serverPermissionAnswer(
  mode: ServerToolsMode,
  toolsDir: string,
  prompt: PermissionPrompt,
): PermissionAnswer {
  const { kind, tool } = prompt.request;
  const inside = prompt.resolvedPath !== undefined && isInsideDirectory(prompt.resolvedPath, toolsDir);
  if (mode === 'all') {
    if (kind === 'execute' || kind === 'network') return 'allow-once';
    if (kind === 'write' && inside) return 'allow-once';
  }
  if (prompt.resolvedPath !== undefined && !inside) {
    return {
      decision: 'deny',
      reason: `${prompt.resolvedPath} is outside the directory this daemon's tools may use (${toolsDir})`,
    };
  }
  return {
    decision: 'deny',
    reason:
      mode === 'read-only'
        ? `this daemon runs only read-only tools (Read, Glob, Grep) for clients; ${tool} is not one of them`
        : `this daemon does not run ${tool} for clients`,
  };
}

/** Options of {@link ServerToolsModel}. */
export interface ServerToolsModelOptions {
  mode: Exclude<ServerToolsMode, 'off'>;
  /** Where the tools run; read and write permissions end at it. */
  toolsDir: string;
  /** Most model turns (default {@link DEFAULT_SERVER_TOOL_TURNS}). */
  maxTurns?: number;
  /** The request's logger (with its request id): every tool decision and result is logged. */
  logger?: Logger;
  /** The tools; default Shammah's coding tools without Restart. */
  tools?: readonly AnyTool[];
}

/**
 * A chat model that runs Shammah's own tools on the daemon: each request becomes a tool loop
 * (`runToolLoop` from `@shammah/tools`) over the inner model, with the daemon's tools in place of the
 * client's, and the client sees only the text of the answer and one `finish` — never a tool call.
 */
export class ServerToolsModel implements ChatModel {
  readonly #inner: ChatModel;
  readonly #options: ServerToolsModelOptions;
  readonly #log: Logger;
  #policy: Promise<{ policy: PermissionPolicy; root: string }> | undefined;

  constructor(inner: ChatModel, options: ServerToolsModelOptions) {
    this.#inner = inner;
    this.#options = options;
    this.#log = (options.logger ?? silentLogger).child({ module: 'server-tools' });
  }

  get provider(): string {
    return this.#inner.provider;
  }

  get modelId(): string {
    return this.#inner.modelId;
  }

  get capabilities(): ModelCapabilities {
    return this.#inner.capabilities;
  }

  async #permissions(): Promise<{ policy: PermissionPolicy; root: string }> {
    this.#policy ??= (async () => {
      const { mode, toolsDir } = this.#options;
      const root = await resolvePhysicalPath(toolsDir, toolsDir);
      const policy = createPermissionPolicy({
        projectRoot: root,
        logger: this.#log,
        ask: async (prompt) => {
          const answer = serverPermissionAnswer(mode, root, prompt);
          const allowed = answer === 'allow-once';
          this.#log.info(
            {
              tool: prompt.request.tool,
              kind: prompt.request.kind,
              mode,
              allowed,
              ...(prompt.resolvedPath ? { resolvedPath: prompt.resolvedPath } : {}),
              ...(typeof answer === 'object' && 'reason' in answer ? { reason: answer.reason } : {}),
            },
            allowed ? 'server tool allowed by the daemon policy' : 'server tool denied by the daemon policy',
          );
          return answer;
        },
      });
      return { policy, root };
    })();
    return this.#policy;
  }

  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    const { policy, root } = await this.#permissions();
    const { messages, tools: _clientTools, toolChoice: _clientChoice, signal, ...settings } = request;
    let routeSent = false;
    let pendingRoute: ChatStreamPart | undefined;
    const inner = this.#inner;
    // Passes the route of the first turn on (the headers name the model that answered) and hides the rest.
    const tapped: ChatModel = {
      provider: inner.provider,
      modelId: inner.modelId,
      capabilities: inner.capabilities,
      async *stream(turnRequest) {
        for await (const part of inner.stream(turnRequest)) {
          if (part.type === 'route') {
            if (!routeSent && !pendingRoute) pendingRoute = part;
            continue;
          }
          yield part;
        }
      },
      generate: (turnRequest) => collectStream(tapped.stream(turnRequest)),
    };
    let lastFinish: FinishReason = 'stop';
    let textTurn = 0;
    for await (const event of runToolLoop({
      model: tapped,
      tools: this.#options.tools ?? createCodingTools({ restart: false }),
      permissions: policy,
      cwd: root,
      messages,
      maxTurns: this.#options.maxTurns ?? DEFAULT_SERVER_TOOL_TURNS,
      request: settings,
      ...(signal ? { signal } : {}),
      logger: this.#log,
    })) {
      if (pendingRoute && !routeSent) {
        routeSent = true;
        yield pendingRoute;
      }
      switch (event.type) {
        case 'text-delta':
          // Text of an earlier turn (before its tool calls) and the answer are set apart.
          if (textTurn !== 0 && textTurn !== event.turn) yield { type: 'text-delta', text: '\n\n' };
          textTurn = event.turn;
          yield { type: 'text-delta', text: event.text };
          break;
        case 'tool-result':
          this.#log.info(
            {
              turn: event.turn,
              tool: event.outcome.toolName,
              toolCallId: event.call.id,
              isError: event.outcome.isError,
              ...(event.outcome.errorCode ? { errorCode: event.outcome.errorCode } : {}),
              durationMs: event.outcome.durationMs,
            },
            'server tool ran',
          );
          break;
        case 'turn-finished':
          lastFinish = event.finishReason;
          break;
        case 'done': {
          if (event.reason === 'error') throw event.error;
          const finishReason: FinishReason =
            event.reason === 'aborted'
              ? 'abort'
              : event.reason === 'max-turns'
                ? 'length'
                : lastFinish === 'tool-calls'
                  ? 'stop'
                  : lastFinish;
          this.#log.info({ reason: event.reason, turns: event.turns }, 'server tool loop finished');
          yield { type: 'finish', finishReason, usage: event.usage, modelId: inner.modelId };
          break;
        }
        default:
          break;
      }
    }
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }
}
