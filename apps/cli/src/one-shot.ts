import type { FinishReason, Timings, ToolCall, Usage } from '@shammah/provider';
import { SessionNotFoundError, type SessionRecord } from '@shammah/session';
import { createRuntime, type Runtime } from './runtime.js';

/** What a one-shot question needs. */
export interface OneShotOptions {
  question: string;
  /** The local model (repository id or directory); loads it in this process. */
  model?: string;
  variant?: string;
  maxTokens?: number;
  /** One JSON object instead of text. */
  json?: boolean;
  /** Send the question to the local model or to the teachers. */
  force?: 'local' | 'teacher';
  /** No daemon. */
  direct?: boolean;
  /** Offer tools (default true); calls that would need asking are denied. */
  tools?: boolean;
  debug?: boolean;
  cwd?: string;
  out?: NodeJS.WritableStream;
  /** Cancels the answer (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Continue a saved session: an id (or its start), or `latest` / `pick` for the newest of this
   * directory (else the newest of all). The question and answer are saved to it.
   */
  restoreSession?: string;
}

/** The `--json` output. */
export interface OneShotResult {
  answer: string;
  route: string | undefined;
  model: string | undefined;
  reason: string | undefined;
  finishReason: FinishReason | 'error';
  usage: Usage;
  timings?: Timings;
  costUsd?: number;
  toolCalls: Array<ToolCall & { isError: boolean; result: string }>;
  error?: { code?: string; message: string };
}

/** The session `--resume` / `--continue` names; throws when an id matches none. */
async function findSession(runtime: Runtime, wanted: string): Promise<SessionRecord> {
  if (wanted !== 'latest' && wanted !== 'pick') return runtime.sessions.load(wanted);
  const cwd = runtime.session.record.cwd;
  const record = (await runtime.sessions.latest({ cwd })) ?? (await runtime.sessions.latest());
  if (!record) {
    throw new SessionNotFoundError('', runtime.sessions.directory);
  }
  return record;
}

/**
 * Answers one question and returns the exit code: 0 answered, 1 failed, 130 cancelled. The
 * answer streams to `out` as plain text (no ANSI), or comes as one JSON object with `json`.
 *
 * @example
 * ```ts
 * process.exitCode = await answerOnce({ question: 'What is the capital of France?', force: 'local' });
 * ```
 */
export async function answerOnce(options: OneShotOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const notices: string[] = [];
  const runtime = await createRuntime({
    cwd: options.cwd ?? process.cwd(),
    ...(options.model ? { model: options.model, direct: true } : {}),
    ...(options.direct ? { direct: true } : {}),
    ...(options.variant ? { variant: options.variant } : {}),
    ...(options.debug ? { debug: true } : {}),
    ...(options.tools === false ? { tools: false } : {}),
    onNotice: (text, tone) => {
      if (tone !== 'info') notices.push(text);
    },
  });
  const result: OneShotResult = {
    answer: '',
    route: undefined,
    model: undefined,
    reason: undefined,
    finishReason: 'stop',
    usage: { inputTokens: 0, outputTokens: 0 },
    toolCalls: [],
  };
  let failed = false;
  let ended = false;
  try {
    for (const notice of notices) process.stderr.write(`shammah: ${notice}\n`);
    const resumed = options.restoreSession ? await findSession(runtime, options.restoreSession) : undefined;
    if (resumed) {
      runtime.session = runtime.sessions.open(resumed);
      runtime.conversation.restore(resumed.messages);
    }
    // One question is worth waiting for the local model: teachers answer a REPL while it loads.
    if (options.force !== 'teacher') await runtime.backend.ready();
    // And for the MCP servers to connect (each settles, ready or failed, within its start-up timeout).
    await runtime.mcp?.start();
    for await (const event of runtime.conversation.send(options.question, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.force ? { controls: { force: options.force } } : {}),
      onProgress: (progress) => {
        if (progress.type === 'route') {
          result.route = progress.route.route;
          result.model = progress.route.model;
          result.reason = progress.route.reason;
          if (progress.route.restart && !options.json)
            out.write('\n[the answer restarts with another model]\n');
        } else if (progress.type === 'model-finish') {
          result.finishReason = progress.finishReason;
          result.usage.inputTokens += progress.usage.inputTokens;
          result.usage.outputTokens += progress.usage.outputTokens;
          if (progress.timings) result.timings = progress.timings;
        } else if (progress.type === 'decision' && progress.decision.costUsd !== undefined) {
          result.costUsd = (result.costUsd ?? 0) + progress.decision.costUsd;
        }
      },
    })) {
      if (event.type === 'text-delta') {
        result.answer += event.text;
        if (!options.json) out.write(event.text);
      } else if (event.type === 'tool-result') {
        result.toolCalls.push({ ...event.call, isError: event.outcome.isError, result: event.outcome.text });
        if (!options.json)
          out.write(`\n[${event.call.name}: ${event.outcome.isError ? 'failed' : 'done'}]\n`);
      } else if (event.type === 'done') {
        ended = true;
        if (event.reason === 'aborted') result.finishReason = 'abort';
        if (event.reason === 'error') {
          failed = true;
          result.finishReason = 'error';
          const error = event.error as (Error & { code?: string }) | undefined;
          result.error = {
            message: error?.message ?? 'The answer failed.',
            ...(error?.code ? { code: error.code } : {}),
          };
        }
        result.answer = event.text || result.answer.trim();
      }
    }
    if (resumed) {
      await runtime.session.update(runtime.conversation.messages);
      await runtime.session.flush();
    }
  } finally {
    await runtime.close();
  }
  if (options.json) out.write(`${JSON.stringify(result)}\n`);
  else if (result.answer && !result.answer.endsWith('\n')) out.write('\n');
  if (failed && !options.json) process.stderr.write(`shammah: ${result.error?.message}\n`);
  if (!ended || result.finishReason === 'abort') return 130;
  return failed ? 1 : 0;
}
