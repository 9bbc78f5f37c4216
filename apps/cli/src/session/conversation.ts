import type {
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatStreamPart,
  FinishReason,
  Logger,
  RouteStreamPart,
  Timings,
  Usage,
} from '@shammah/provider';
import { collectStream } from '@shammah/provider';
import { createCompactor } from '@shammah/session';
import { type AnyTool, type PermissionPolicy, runToolLoop, type ToolLoopEvent } from '@shammah/tools';
import type { Backend, DecisionSummary, RouteControls } from '../backend/backend.js';
import { PLAN_MODE_PROMPT, readOnlyTools } from './plan.js';

/** What one model call reported when it finished. */
export interface ModelFinish {
  type: 'model-finish';
  finishReason: FinishReason;
  usage: Usage;
  timings?: Timings;
  modelId?: string;
}

/** Routing and per-call figures, reported the moment they happen (a route before a long prefill). */
export type ProgressEvent =
  | { type: 'route'; route: RouteStreamPart }
  | { type: 'first-token' }
  | ModelFinish
  | { type: 'decision'; decision: DecisionSummary };

/** Options of {@link Conversation.send}. */
export interface SendOptions {
  signal?: AbortSignal;
  controls?: Omit<RouteControls, 'onDecision'>;
  /** `plan`: read-only tools and the plan-mode instructions. */
  mode?: 'chat' | 'plan';
  /** Offer no tools at all this turn. */
  noTools?: boolean;
  /** Called with routing and figures as they happen. */
  onProgress?: (event: ProgressEvent) => void;
}

/** Settings of a {@link Conversation}. */
export interface ConversationOptions {
  backend: Backend;
  tools: readonly AnyTool[];
  permissions: PermissionPolicy;
  cwd: string;
  /** The system prompt (Shammah's short default and the instruction files). */
  systemPrompt: string;
  /** Most model turns per message (the original allowed 10 tool iterations). */
  maxTurns?: number;
  logger: Logger;
}

/** The default system prompt: short, because small local models pay for every token of it. */
export function defaultSystemPrompt(cwd: string): string {
  return `You are Shammah, a local-first AI coding assistant in the user's terminal. The working directory is ${cwd}. Answer concisely; use markdown, with code in fenced blocks.`;
}

/**
 * One conversation: its messages, and turns run through the tool loop against the backend's
 * routed model. Yields what happens as events for the REPL to show; the messages it keeps are
 * ready for the next turn. Knows nothing of terminals.
 */
export class Conversation {
  readonly #options: ConversationOptions;
  #messages: ChatMessage[] = [];
  #last: { query: string; answer: string; decisionId?: string; route?: string } | undefined;
  #systemPrompt: string;

  constructor(options: ConversationOptions) {
    this.#options = options;
    this.#systemPrompt = options.systemPrompt;
  }

  /** The system prompt sent with every turn; set it when the instruction files change. */
  get systemPrompt(): string {
    return this.#systemPrompt;
  }

  set systemPrompt(text: string) {
    this.#systemPrompt = text;
  }

  /** The messages so far (without the system prompt). */
  get messages(): readonly ChatMessage[] {
    return this.#messages;
  }

  /** The last question and its answer, for feedback. */
  get lastExchange(): { query: string; answer: string; decisionId?: string; route?: string } | undefined {
    return this.#last;
  }

  /** Forgets the conversation. */
  clear(): void {
    this.#messages = [];
    this.#last = undefined;
  }

  /** Continues a saved conversation. */
  restore(messages: readonly ChatMessage[]): void {
    this.#messages = messages.filter((message) => message.role !== 'system');
  }

  /** Adds a note to the conversation without asking the model (e.g. an edited plan). */
  note(role: 'user' | 'assistant', content: string): void {
    this.#messages.push({ role, content });
  }

  /** Sends a user message and streams the turn. */
  async *send(text: string, options: SendOptions = {}): AsyncGenerator<ToolLoopEvent> {
    let decisionId: string | undefined;
    let route: string | undefined;
    const routed = this.#options.backend.model({
      ...options.controls,
      onDecision: (decision) => {
        decisionId = decision.id;
        if (this.#last) this.#last.decisionId = decision.id;
        options.onProgress?.({ type: 'decision', decision });
      },
    });
    const model = metered(routed, (event) => {
      if (event.type === 'route') route = event.route.route;
      options.onProgress?.(event);
    });
    const plan = options.mode === 'plan';
    const tools = options.noTools
      ? []
      : plan
        ? readOnlyTools(this.#options.tools)
        : this.#options.tools.filter((tool) => tool.name !== 'PresentPlan');
    const system = plan ? `${this.#systemPrompt}\n\n${PLAN_MODE_PROMPT}` : this.#systemPrompt;
    // Summaries are written by the same routed model, without reporting them as the turn's figures.
    const summarizer = this.#options.backend.model({ ...options.controls });
    const messages: ChatMessage[] = [
      { role: 'system', content: system },
      ...this.#messages,
      { role: 'user', content: text },
    ];
    let answer = '';
    for await (const event of runToolLoop({
      model,
      tools,
      permissions: this.#options.permissions,
      cwd: this.#options.cwd,
      messages,
      maxTurns: this.#options.maxTurns ?? 10,
      toolCalls: 'native',
      compact: createCompactor({
        model,
        summarizer,
        logger: this.#options.logger,
      }),
      ...(options.signal ? { signal: options.signal } : {}),
      logger: this.#options.logger,
    })) {
      if (event.type === 'text-delta') answer += event.text;
      if (event.type === 'done') {
        this.#messages = event.messages.filter((message) => message.role !== 'system');
        const last = this.#messages.at(-1);
        if (last?.role === 'user' && answer.trim() !== '') {
          // Cancelled mid-answer: keep what was said, so the next turn has the context.
          this.#messages.push({ role: 'assistant', content: `${answer.trim()}\n[interrupted]` });
        }
        this.#last = {
          query: text,
          answer: event.text || answer.trim(),
          ...(route ? { route } : {}),
        };
        if (decisionId) this.#last.decisionId = decisionId;
      }
      yield event;
    }
  }
}

/** Wraps a model to report its route parts, first token and finish figures as they pass. */
function metered(model: ChatModel, report: (event: ProgressEvent) => void): ChatModel {
  const wrapped: ChatModel = {
    provider: model.provider,
    modelId: model.modelId,
    get capabilities() {
      return model.capabilities;
    },
    async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
      let first = true;
      for await (const part of model.stream(request)) {
        if (part.type === 'route') report({ type: 'route', route: part });
        else if (part.type === 'finish') {
          report({
            type: 'model-finish',
            finishReason: part.finishReason,
            usage: part.usage,
            ...(part.timings ? { timings: part.timings } : {}),
            ...(part.modelId ? { modelId: part.modelId } : {}),
          });
        } else if (first && (part.type === 'text-delta' || part.type === 'tool-call-start')) {
          first = false;
          report({ type: 'first-token' });
        }
        yield part;
      }
    },
    generate: (request) => collectStream(wrapped.stream(request)),
  };
  return wrapped;
}
