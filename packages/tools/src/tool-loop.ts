import {
  type AssistantMessage,
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  type FinishReason,
  type Logger,
  ShammahError,
  silentLogger,
  type ToolCall,
  type ToolCallPart,
  type ToolResultPart,
  type Usage,
} from '@shammah/provider';
import type { ConversationCompaction, ConversationCompactor } from './conversation-compactor.js';
import { EventQueue } from './event-queue.js';
import type { PermissionDecision, PermissionPolicy, PermissionPrompt } from './permission-policy.js';
import { runToolCall, type ToolCallOutcome } from './run-tool-call.js';
import type { AnyTool, ToolContext } from './tool.js';
import type { ToolCallParseIssue } from './tool-call-parser.js';
import { nativeToolCalls, type ToolCallStrategy, textToolCalls } from './tool-call-strategy.js';
import { ToolSet } from './tool-set.js';

/** A result for a call that was handed to a remote executor, given back to resume the loop. */
export interface RemoteToolResult {
  toolCallId: string;
  content: string;
  isError?: boolean;
}

/**
 * Where a pass-through loop stopped: plain JSON, so a daemon can keep it in a session and resume
 * when its client sends the results.
 */
export interface ToolLoopState {
  /** The conversation so far, ending with the assistant message that made the calls. */
  messages: ChatMessage[];
  /** The calls the remote executor must run. */
  pendingToolCalls: ToolCall[];
  /** Results of the same turn's calls that ran locally. */
  completedResults: ToolResultPart[];
  turnsUsed: number;
  /** How often each identical call was made (repeat detection). */
  callCounts: Record<string, number>;
}

/** Why a tool loop ended. */
export type ToolLoopDoneReason =
  | 'answered'
  | 'max-turns'
  | 'aborted'
  | 'error'
  | 'tool-calls-pending'
  | 'restart-requested'
  | 'plan-approved';

/** One event of a running tool loop. */
export type ToolLoopEvent =
  | { type: 'text-delta'; turn: number; text: string }
  | { type: 'tool-call'; turn: number; call: ToolCall }
  | { type: 'tool-call-parse-error'; turn: number; issue: ToolCallParseIssue }
  | { type: 'permission-asked'; turn: number; call: ToolCall; prompt: PermissionPrompt }
  | { type: 'permission-decided'; turn: number; call: ToolCall; decision: PermissionDecision }
  | { type: 'tool-output'; turn: number; call: ToolCall; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'tool-result'; turn: number; call: ToolCall; outcome: ToolCallOutcome }
  | { type: 'turn-finished'; turn: number; finishReason: FinishReason; usage: Usage; toolCalls: number }
  /** Older turns were summarised to fit the model's context (before `turn`); show the user a notice. */
  | { type: 'compaction'; turn: number; compaction: ConversationCompaction }
  | {
      type: 'done';
      reason: ToolLoopDoneReason;
      /** Model turns taken, across resumptions. */
      turns: number;
      /** The last answer's text (without tool-call text). */
      text: string;
      /** The whole conversation, ready for the next user message. */
      messages: ChatMessage[];
      usage: Usage;
      /** With reason `error`: what failed. */
      error?: unknown;
      /** With reason `tool-calls-pending`: pass it back through `resume` with the results. */
      state?: ToolLoopState;
    };

/** Options of {@link runToolLoop}. */
export interface ToolLoopOptions {
  model: ChatModel;
  tools: ToolSet | readonly AnyTool[];
  permissions: PermissionPolicy;
  /** The conversation to continue. Not needed when resuming. */
  messages?: readonly ChatMessage[];
  /** Where tools run; relative paths resolve against it. */
  cwd: string;
  /** Most model turns (default 5); the loop ends with `max-turns` after the last turn's tools ran. */
  maxTurns?: number;
  signal?: AbortSignal;
  /**
   * How tool calls travel: `native` (chat API tools), `text` (parsed from the model's text), or `auto`
   * (default: native when the model's capabilities say it supports tools).
   */
  toolCalls?: 'auto' | 'native' | 'text' | ToolCallStrategy;
  /** Sampling and other request settings for every turn. */
  request?: Omit<ChatRequest, 'messages' | 'tools' | 'signal'>;
  /** Passed to tools: the host's restart. */
  requestRestart?: ToolContext['requestRestart'];
  /**
   * Pass-through: calls for which this returns true are not run here; the loop ends with
   * `tool-calls-pending` and a `state` to resume with once the remote side has results.
   */
  executeRemotely?: (call: ToolCall) => boolean;
  /** Continue a pass-through loop with the remote results. */
  resume?: { state: ToolLoopState; results: readonly RemoteToolResult[] };
  /** An identical call (same tool, same input) made more often than this gets an error instead (default 2). */
  maxRepeatedCalls?: number;
  /**
   * Fits the conversation into the model's context before each turn (and once more when the model
   * refuses a prompt as too long), e.g. `@shammah/session`'s `createCompactor`. Without it a
   * conversation that outgrows the context ends the loop with `error`.
   */
  compact?: ConversationCompactor;
  logger?: Logger;
}

function isContextTooLong(error: unknown): boolean {
  return (
    ShammahError.is(error) && (error.code === 'context_too_long' || error.code === 'api_context_too_long')
  );
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function resolveStrategy(option: ToolLoopOptions['toolCalls'], model: ChatModel): ToolCallStrategy {
  if (typeof option === 'object') return option;
  if (option === 'native') return nativeToolCalls();
  if (option === 'text') return textToolCalls();
  return model.capabilities.tools ? nativeToolCalls() : textToolCalls();
}

function resultPart(
  call: ToolCall,
  outcome: Pick<ToolCallOutcome, 'toolName' | 'text' | 'isError'>,
): ToolResultPart {
  return {
    type: 'tool-result',
    toolCallId: call.id,
    toolName: outcome.toolName,
    content: outcome.text,
    ...(outcome.isError ? { isError: true } : {}),
  };
}

/**
 * Runs a model with tools until it answers: model → tool calls → results → model, at most `maxTurns`
 * model turns. Streams what happens as events and always ends with one `done` event, whatever the
 * model does: unknown tools, invalid input and unreadable calls become error results the model can
 * correct, identical calls repeated too often are refused, and errors, aborts and the turn limit end
 * the loop cleanly. Breaking out of the iteration cancels a running tool.
 *
 * @example
 * ```ts
 * for await (const event of runToolLoop({ model, tools, permissions, cwd: '/repo', messages })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.text);
 *   if (event.type === 'done') console.log(`\n(${event.reason} after ${event.turns} turns)`);
 * }
 * ```
 */
export async function* runToolLoop(options: ToolLoopOptions): AsyncGenerator<ToolLoopEvent, void, undefined> {
  const tools = options.tools instanceof ToolSet ? options.tools : new ToolSet(options.tools);
  const strategy = resolveStrategy(options.toolCalls, options.model);
  const maxTurns = options.maxTurns ?? 5;
  const maxRepeatedCalls = options.maxRepeatedCalls ?? 2;
  const logger = (options.logger ?? silentLogger).child({ module: 'tool-loop' });
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;

  const messages: ChatMessage[] = [...(options.resume?.state.messages ?? options.messages ?? [])];
  const callCounts = new Map<string, number>(Object.entries(options.resume?.state.callCounts ?? {}));
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let turn = options.resume?.state.turnsUsed ?? 0;
  let lastText = '';
  const done = (
    reason: ToolLoopDoneReason,
    extra: { error?: unknown; state?: ToolLoopState } = {},
  ): ToolLoopEvent => {
    logger.info({ reason, turns: turn }, 'tool loop done');
    return {
      type: 'done',
      reason,
      turns: turn,
      text: lastText,
      messages: [...messages],
      usage: { ...usage },
      ...extra,
    };
  };

  async function* execute(call: ToolCall): AsyncGenerator<ToolLoopEvent, ToolCallOutcome> {
    const tool = tools.get(call.name);
    const key = `${tool?.name ?? call.name}:${stableStringify(call.input)}`;
    const count = callCounts.get(key) ?? 0;
    callCounts.set(key, count + 1);
    if (tool && count >= maxRepeatedCalls) {
      return {
        toolCallId: call.id,
        toolName: tool.name,
        text:
          `You already called ${tool.name} with these same arguments ${count} times; the results are above. ` +
          'Do not call it again: answer the user with what you have, or try something different.',
        isError: true,
        truncated: false,
        errorCode: 'tool_repeated_call',
        durationMs: 0,
      };
    }
    const queue = new EventQueue<ToolLoopEvent>();
    const running = runToolCall(call, {
      tools,
      permissions: options.permissions,
      logger: options.logger ?? silentLogger,
      context: {
        cwd: options.cwd,
        signal,
        logger: options.logger ?? silentLogger,
        onOutput: (chunk) => queue.push({ type: 'tool-output', turn, call, ...chunk }),
        ...(options.requestRestart ? { requestRestart: options.requestRestart } : {}),
      },
      onPermissionAsked: (prompt) => queue.push({ type: 'permission-asked', turn, call, prompt }),
      onPermissionDecided: (decision) => queue.push({ type: 'permission-decided', turn, call, decision }),
    }).finally(() => queue.close());
    yield* queue.drain();
    const outcome = await running;
    // Writes change what reads and commands return: identical calls after a write are not repeats.
    if (tool?.kind === 'write' && !outcome.isError) callCounts.clear();
    return outcome;
  }

  let forcedCompactionTurn = -1;
  async function* compactMessages(
    force: boolean,
  ): AsyncGenerator<ToolLoopEvent, 'compacted' | 'unchanged' | 'aborted'> {
    try {
      const result = await options.compact!({ messages: [...messages], tools, signal, force });
      if (!result) return 'unchanged';
      messages.splice(0, messages.length, ...result.messages);
      logger.info(
        {
          turn,
          removedMessages: result.compaction.removedMessages,
          tokensBefore: result.compaction.tokensBefore,
          tokensAfter: result.compaction.tokensAfter,
          method: result.compaction.method,
        },
        'conversation compacted',
      );
      yield { type: 'compaction', turn, compaction: result.compaction };
      return 'compacted';
    } catch (error) {
      if (signal.aborted) return 'aborted';
      logger.warn({ err: error, turn }, 'compacting the conversation failed; sending it as it is');
      return 'unchanged';
    }
  }

  try {
    if (options.resume) {
      const { state, results } = options.resume;
      const byId = new Map(results.map((result) => [result.toolCallId, result]));
      const remote = state.pendingToolCalls.map((call) => {
        const result = byId.get(call.id);
        const toolName = tools.get(call.name)?.name ?? call.name;
        return result
          ? resultPart(call, { toolName, text: result.content, isError: result.isError ?? false })
          : resultPart(call, { toolName, text: 'No result came back for this call.', isError: true });
      });
      messages.push({ role: 'tool', content: [...state.completedResults, ...remote] });
    }

    while (true) {
      if (signal.aborted) {
        yield done('aborted');
        return;
      }
      if (turn >= maxTurns) {
        yield done('max-turns');
        return;
      }
      turn++;
      if (options.compact) {
        const compacted = yield* compactMessages(false);
        if (compacted === 'aborted') {
          yield done('aborted');
          return;
        }
      }
      const request = strategy.prepareRequest({ ...options.request, messages: [...messages], signal }, tools);
      const extractor = strategy.createExtractor(tools);
      let text = '';
      const calls: ToolCall[] = [];
      const issues: ToolCallParseIssue[] = [];
      let finishReason: FinishReason = 'stop';
      const turnUsage: Usage = { inputTokens: 0, outputTokens: 0 };
      const handle = function* (parts: ReturnType<typeof extractor.push>): Generator<ToolLoopEvent> {
        for (const part of parts) {
          if (part.type === 'text') {
            text += part.text;
            yield { type: 'text-delta', turn, text: part.text };
          } else if (part.type === 'tool-call') {
            calls.push(part.call);
            yield { type: 'tool-call', turn, call: part.call };
          } else {
            issues.push(part.issue);
            yield { type: 'tool-call-parse-error', turn, issue: part.issue };
          }
        }
      };
      try {
        for await (const part of options.model.stream(request)) {
          if (part.type === 'finish') {
            finishReason = part.finishReason;
            turnUsage.inputTokens += part.usage.inputTokens;
            turnUsage.outputTokens += part.usage.outputTokens;
            continue;
          }
          yield* handle(extractor.push(part));
        }
        yield* handle(extractor.end());
      } catch (error) {
        lastText = text.trim();
        if (signal.aborted) {
          yield done('aborted');
          return;
        }
        // The estimate was off and the model refused the prompt before answering: compact harder, retry once.
        if (
          options.compact &&
          isContextTooLong(error) &&
          text === '' &&
          calls.length === 0 &&
          forcedCompactionTurn !== turn
        ) {
          forcedCompactionTurn = turn;
          const compacted = yield* compactMessages(true);
          if (compacted === 'aborted') {
            yield done('aborted');
            return;
          }
          if (compacted === 'compacted') {
            turn--;
            continue;
          }
        }
        logger.warn({ err: error, turn }, 'the model failed');
        yield done('error', { error });
        return;
      }
      usage.inputTokens += turnUsage.inputTokens;
      usage.outputTokens += turnUsage.outputTokens;
      lastText = text.trim();

      const content: AssistantMessage['content'] =
        calls.length === 0
          ? lastText
          : [
              ...(lastText ? [{ type: 'text' as const, text: lastText }] : []),
              ...calls.map(
                (call): ToolCallPart => ({
                  type: 'tool-call',
                  id: call.id,
                  name: call.name,
                  input: call.input,
                }),
              ),
            ];
      if (calls.length > 0 || lastText !== '') messages.push({ role: 'assistant', content });
      yield { type: 'turn-finished', turn, finishReason, usage: turnUsage, toolCalls: calls.length };

      if (signal.aborted || finishReason === 'abort') {
        yield done('aborted');
        return;
      }
      const parseFeedback =
        issues.length > 0
          ? `Your tool call could not be read:\n${issues.map((issue) => `- ${issue.message}\n  You wrote: ${issue.raw.slice(0, 300)}`).join('\n')}`
          : undefined;
      if (calls.length === 0) {
        if (!parseFeedback) {
          yield done('answered');
          return;
        }
        messages.push({ role: 'user', content: parseFeedback });
        continue;
      }

      const results: ToolResultPart[] = [];
      const pending: ToolCall[] = [];
      let restartRequested = false;
      let endLoop: 'plan-approved' | undefined;
      for (const call of calls) {
        if (signal.aborted) {
          results.push(
            resultPart(call, { toolName: call.name, text: 'Cancelled before it ran.', isError: true }),
          );
          continue;
        }
        if (options.executeRemotely?.(call)) {
          pending.push(call);
          continue;
        }
        const outcome = yield* execute(call);
        yield { type: 'tool-result', turn, call, outcome };
        results.push(resultPart(call, outcome));
        if (outcome.toolName === 'Restart' && !outcome.isError) restartRequested = true;
        if (outcome.endLoop) endLoop = outcome.endLoop;
      }
      if (pending.length > 0) {
        yield done('tool-calls-pending', {
          state: {
            messages: [...messages],
            pendingToolCalls: pending,
            completedResults: results,
            turnsUsed: turn,
            callCounts: Object.fromEntries(callCounts),
          },
        });
        return;
      }
      messages.push({ role: 'tool', content: results });
      if (parseFeedback) messages.push({ role: 'user', content: parseFeedback });
      if (signal.aborted) {
        yield done('aborted');
        return;
      }
      if (restartRequested) {
        yield done('restart-requested');
        return;
      }
      if (endLoop) {
        yield done(endLoop);
        return;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // Stops a tool still running when the caller stopped iterating early.
    controller.abort();
  }
}
