import type { ChatMessage, RouteStreamPart } from '@shammah/provider';
import type { SessionRecord } from '@shammah/session';
import type {
  PermissionAnswer,
  PermissionPrompt,
  PlanReview,
  PresentedPlan,
  ToolCallOutcome,
  ToolLoopDoneReason,
  UserQuestion,
  UserQuestionAnswer,
} from '@shammah/tools';
import type { BackendStatus, RouteControls } from '../backend/backend.js';
import type { Runtime, RuntimeOptions } from '../runtime.js';
import type { ProgressEvent } from '../session/conversation.js';
import type { InputHistory } from '../session/input-history.js';
import { formatPlan, parsePlan, stepPrompt } from '../session/plan.js';
import type { FeedbackRating } from '../session/training-queue.js';
import {
  emptyStats,
  formatCost,
  formatDuration,
  type SessionStats,
  statusSegments,
} from './session-stats.js';
import { completeSlashCommand, helpText, parseSlashCommand } from './slash-commands.js';
import { Transcript, type TranscriptEntry } from './transcript.js';

/** One answer the user can pick in a prompt. */
export interface Choice<T extends string> {
  key: string;
  value: T;
  label: string;
}

/** What the controller needs from a terminal UI (the blessed TUI or the plain line REPL). */
export interface ReplView {
  /** Asks the user to pick one answer; a cancelled signal resolves it with `fallback`. */
  choose<T extends string>(
    question: string,
    choices: Choice<T>[],
    signal: AbortSignal,
    fallback: T,
  ): Promise<T>;
  /** Puts text into the input for the user to edit (a plan). */
  setInput(text: string): void;
  /** The entries Up and Down browse. */
  setHistory(entries: readonly string[]): void;
  /** Something on the status bar changed. */
  refresh(): void;
  /** Leaves the REPL. */
  exit(code: number): void;
  /** Hands the terminal to another program (an editor) while `run` runs, then takes it back. */
  suspend?<T>(run: () => Promise<T>): Promise<T>;
}

/** How the REPL was started. */
export interface ReplOptions extends Omit<RuntimeOptions, 'ask' | 'onNotice' | 'onChange'> {
  /** `--local` / `--teacher` on the command line. */
  force?: 'local' | 'teacher';
  /** `--initial-prompt`: sent as soon as the REPL is up. */
  initialPrompt?: string;
  /**
   * The saved session to continue: an id (or the start of one), `latest` (`--continue`: the newest of
   * this directory, else the newest of all), or `pick` (`--resume` without an id: a list to choose from).
   */
  restoreSession?: string;
}

/** What a turn came to. */
interface TurnResult {
  reason: ToolLoopDoneReason;
  text: string;
}

/** A plan the user approved through PresentPlan: its checklist and its steps. */
interface ApprovedPlan {
  entry: Extract<TranscriptEntry, { kind: 'plan' }>;
  steps: string[];
}

const EXIT_WINDOW_MS = 3000;

function firstLine(text: string, max = 100): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** How long ago a time was, in words: "just now", "5 min ago", "3 h ago", "2 days ago". */
function formatAge(time: number, now = Date.now()): string {
  const minutes = Math.floor((now - time) / 60_000);
  if (!Number.isFinite(minutes) || minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** Runs the user's editor on a file with the terminal handed over; resolves with its exit code. */
async function runEditor(editor: string, file: string): Promise<number> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    // EDITOR may carry arguments ("code --wait"): the shell splits it, the path is quoted.
    const child = spawn(`${editor} '${file.replace(/'/g, `'\\''`)}'`, { shell: true, stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** One line about a tool call's input: the path, command, pattern or URL. */
export function describeToolInput(input: unknown): string {
  if (!input || typeof input !== 'object') return JSON.stringify(input) ?? '';
  const record = input as Record<string, unknown>;
  for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'query']) {
    if (typeof record[key] === 'string') {
      const rest = Object.keys(record).filter((other) => other !== key).length;
      return `${firstLine(record[key] as string, 80)}${rest ? ' …' : ''}`;
    }
  }
  const text = JSON.stringify(input);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** A short summary of a tool's result for the transcript. */
export function summarizeOutcome(outcome: ToolCallOutcome): string {
  if (outcome.isError) return firstLine(outcome.text, 120);
  const lines = outcome.text.split('\n').filter((line) => line.trim() !== '');
  const timing = outcome.durationMs >= 1000 ? `, ${formatDuration(outcome.durationMs)}` : '';
  const more =
    lines.length > 1
      ? ` (+${lines.length - 1} line${lines.length === 2 ? '' : 's'}${outcome.truncated ? ', truncated' : ''}${timing})`
      : timing
        ? ` (${timing.slice(2)})`
        : '';
  return `${firstLine(lines[0] ?? '(no output)', 80)}${more}`;
}

/**
 * The REPL's logic, apart from any terminal: slash commands, turns and their display, permission
 * prompts, plan mode, feedback, history and the status figures. Views (the TUI, the plain REPL)
 * render its transcript and status and call {@link submit}, {@link interrupt} and
 * {@link togglePlanMode}.
 */
export class ReplController {
  readonly transcript = new Transcript();
  readonly stats: SessionStats = emptyStats();
  readonly #view: ReplView;
  readonly #options: ReplOptions;
  #runtime: Runtime | undefined;
  #starting: Promise<Runtime | undefined> | undefined;
  #history: InputHistory | undefined;
  #controls: Omit<RouteControls, 'onDecision'> = {};
  #turn: AbortController | undefined;
  #queue: string[] = [];
  #editingPlan = false;
  /** Someone (a plan being edited, a question answered in words) waits for the next input line. */
  #inputWaiter: ((text: string | undefined) => void) | undefined;
  /** A plan approved through PresentPlan in this turn, to run once the turn ends. */
  #approvedPlan: ApprovedPlan | undefined;
  /** PresentPlan was called in this turn (so its answer is not read as a plan). */
  #presentedPlan = false;
  #lastInterrupt = 0;
  /** The model that gave the last answer (for training examples). */
  #lastAnswerModel: string | undefined;
  #closing: Promise<void> | undefined;
  /** The input box's text, for Ctrl-C on a non-empty line. */
  inputIsEmpty: () => boolean = () => true;
  clearInput: () => void = () => {};

  constructor(view: ReplView, options: ReplOptions) {
    this.#view = view;
    this.#options = options;
    if (options.force) {
      this.#controls = { force: options.force };
      this.stats.pinned = `/${options.force}`;
    }
  }

  /** Whether an answer is being produced. */
  get busy(): boolean {
    return this.#turn !== undefined;
  }

  /** The backend's state, once started. */
  backendStatus(): BackendStatus | undefined {
    return this.#runtime?.backend.status();
  }

  /** The status bar's segments. */
  statusSegments(now?: number): string[] {
    return statusSegments(this.stats, this.backendStatus(), now);
  }

  /** Loads everything heavy in the background; the prompt is already usable. */
  start(): Promise<Runtime | undefined> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<Runtime | undefined> {
    try {
      const [{ createRuntime }, { InputHistory }, { shammahPaths }] = await Promise.all([
        import('../runtime.js'),
        import('../session/input-history.js'),
        import('@shammah/config'),
      ]);
      const historyLoad = InputHistory.open(shammahPaths().history).then(
        (history) => {
          this.#history = history;
          this.#view.setHistory(history.entries);
        },
        (error: Error) => this.transcript.notice(`History is unavailable: ${error.message}`, 'warn'),
      );
      const runtime = await createRuntime({
        ...this.#options,
        ask: (prompt) => this.#askPermission(prompt),
        askUser: (question, context) => this.#askUser(question, context.signal),
        reviewPlan: (plan, context) => this.#reviewPresentedPlan(plan, context.signal),
        onNotice: (text, tone) => this.transcript.notice(text, tone),
        onChange: () => this.#view.refresh(),
      });
      await historyLoad;
      this.#runtime = runtime;
      this.stats.phase = 'idle';
      this.#welcome(runtime);
      if (this.#options.restoreSession) await this.#restore(this.#options.restoreSession);
      this.#view.refresh();
      if (this.#options.initialPrompt) void this.submit(this.#options.initialPrompt);
      return runtime;
    } catch (error) {
      this.transcript.notice(`Shammah could not start: ${(error as Error).message}`, 'error');
      this.stats.phase = 'idle';
      this.#view.refresh();
      return undefined;
    }
  }

  #welcome(runtime: Runtime): void {
    const status = runtime.backend.status();
    const parts: string[] = [];
    if (status.local) parts.push(`local model ${status.local.modelId} (${status.local.state})`);
    else parts.push('no local model');
    parts.push(
      status.teachers.length
        ? `teachers: ${status.teachers.map((teacher) => teacher.name).join(', ')}`
        : 'no teachers (shammah setup adds them)',
    );
    parts.push(
      status.mode === 'daemon'
        ? `via the daemon at ${status.daemon.address ?? '?'}`
        : 'running in this process',
    );
    this.transcript.notice(`Shammah · ${parts.join(' · ')}\n/help lists commands and keys.`, 'dim');
    if (status.local && !status.localTools)
      this.transcript.notice(
        `${status.local.modelId} is too small to use tools; it answers from what it knows. Tools work with teachers (/teacher) and larger local models.`,
        'dim',
      );
  }

  /** Ctrl-C: cancels the answer or prompt; a second press within 3 s exits. */
  interrupt(): 'cancelled' | 'cleared' | 'armed' | 'exit' {
    const now = Date.now();
    const armed = now - this.#lastInterrupt < EXIT_WINDOW_MS;
    this.#lastInterrupt = now;
    if (this.#turn) {
      this.#turn.abort();
      this.#queue = [];
      return 'cancelled';
    }
    if (armed) {
      this.#view.exit(0);
      return 'exit';
    }
    if (!this.inputIsEmpty()) {
      this.clearInput();
      return 'cleared';
    }
    this.transcript.notice('Press Ctrl-C again to exit.', 'dim');
    return 'armed';
  }

  /** Shift+Tab. */
  togglePlanMode(): void {
    this.stats.planMode = !this.stats.planMode;
    this.transcript.notice(
      this.stats.planMode
        ? 'Plan mode on: the assistant researches with read-only tools and proposes a numbered plan for you to approve.'
        : 'Plan mode off.',
      'dim',
    );
    this.#view.refresh();
  }

  /** Tab: the completed input, when there is exactly one completion (else the candidates). */
  complete(text: string): { completion?: string; candidates: string[] } {
    const candidates = completeSlashCommand(text);
    if (candidates.length === 1) return { completion: `${candidates[0]} `, candidates };
    if (candidates.length > 1) {
      let prefix = candidates[0]!;
      for (const candidate of candidates) while (!candidate.startsWith(prefix)) prefix = prefix.slice(0, -1);
      return prefix.length > text.length ? { completion: prefix, candidates } : { candidates };
    }
    return { candidates };
  }

  /** Enter: a slash command or a message. */
  async submit(text: string): Promise<void> {
    const trimmed = text.trim();
    if (!trimmed) return;
    void this.#history?.add(text).catch(() => undefined);
    if (this.#history) this.#view.setHistory(this.#history.entries);
    if (this.#inputWaiter) {
      const waiter = this.#inputWaiter;
      this.#inputWaiter = undefined;
      this.transcript.add({ kind: 'user', text });
      waiter(text);
      return;
    }
    if (this.#turn) {
      this.#queue.push(text);
      this.transcript.notice(`Queued: ${firstLine(text, 60)}`, 'dim');
      return;
    }
    if (this.#editingPlan) {
      this.#editingPlan = false;
      const steps = parsePlan(text);
      if (steps.length === 0) {
        this.transcript.notice(
          'That has no numbered steps; the plan is dropped. Still in plan mode.',
          'warn',
        );
        return;
      }
      this.transcript.add({ kind: 'user', text });
      this.#runtime?.conversation.note('user', `I edited the plan to:\n${formatPlan(steps)}`);
      await this.#reviewPlan(steps);
      return this.#drainQueue();
    }
    const command = parseSlashCommand(trimmed);
    if (command) {
      await this.#command(command.name, command.args, command.known);
    } else if (this.stats.planMode) {
      await this.#planTurn(text);
    } else {
      await this.#ask(text);
    }
    return this.#drainQueue();
  }

  async #drainQueue(): Promise<void> {
    const next = this.#queue.shift();
    if (next !== undefined) await this.submit(next);
  }

  async #ask(text: string, controls?: Omit<RouteControls, 'onDecision'>): Promise<TurnResult | undefined> {
    this.transcript.add({ kind: 'user', text });
    return this.#runTurn(text, { ...(controls ? { controls } : {}) });
  }

  async #runtimeOrNotice(): Promise<Runtime | undefined> {
    const runtime = this.#runtime ?? (await this.start());
    if (!runtime) this.transcript.notice('Shammah is not running (see the error above).', 'error');
    return runtime;
  }

  /** Runs one turn, showing it as it streams. */
  async #runTurn(
    text: string,
    options: { controls?: Omit<RouteControls, 'onDecision'>; mode?: 'chat' | 'plan' } = {},
  ): Promise<TurnResult | undefined> {
    if (!this.#runtime) this.stats.phase = 'thinking';
    const runtime = await this.#runtimeOrNotice();
    if (!runtime) return undefined;
    const turn = new AbortController();
    this.#turn = turn;
    const stats = this.stats;
    stats.phase = 'thinking';
    stats.startedAt = performance.now();
    stats.liveDeltas = 0;
    delete stats.firstTokenAt;
    this.#view.refresh();

    let answer: Extract<TranscriptEntry, { kind: 'assistant' }> | undefined;
    let route: RouteStreamPart | undefined;
    let currentTurn = 0;
    let usageIn = 0;
    let usageOut = 0;
    let rate: number | undefined;
    let latency: number | undefined;
    const tools = new Map<string, Extract<TranscriptEntry, { kind: 'tool' }>>();
    const onProgress = (event: ProgressEvent) => {
      switch (event.type) {
        case 'route':
          route = event.route;
          this.#lastAnswerModel = event.route.model;
          stats.route = event.route.route;
          stats.model = event.route.model;
          stats.reason = event.route.reason;
          if (event.route.restart && answer) {
            const replaced = answer;
            this.transcript.update(replaced, (entry) => {
              entry.streaming = false;
              entry.ended = `replaced: ${event.route.message}`;
            });
            answer = undefined;
          }
          break;
        case 'first-token':
          stats.phase = 'streaming';
          stats.firstTokenAt = performance.now();
          latency ??= stats.firstTokenAt - (stats.startedAt ?? stats.firstTokenAt);
          break;
        case 'model-finish':
          usageIn += event.usage.inputTokens;
          usageOut += event.usage.outputTokens;
          stats.sessionTokens += event.usage.inputTokens + event.usage.outputTokens;
          if (event.timings?.decodeTokensPerSecond) rate = event.timings.decodeTokensPerSecond;
          if (event.timings?.timeToFirstTokenMs !== undefined && latency === undefined)
            latency = event.timings.timeToFirstTokenMs;
          break;
        case 'decision':
          if (event.decision.costUsd) stats.costUsd += event.decision.costUsd;
          if (event.decision.name) stats.model = event.decision.name;
          break;
      }
      this.#view.refresh();
    };

    let result: TurnResult = { reason: 'error', text: '' };
    try {
      for await (const event of runtime.conversation.send(text, {
        signal: turn.signal,
        controls: options.controls ?? this.#controls,
        mode: options.mode ?? 'chat',
        onProgress,
      })) {
        switch (event.type) {
          case 'text-delta': {
            if (event.turn !== currentTurn || !answer) {
              currentTurn = event.turn;
              answer = this.transcript.add({
                kind: 'assistant',
                text: '',
                streaming: true,
                ...(route ? { route } : {}),
              });
            }
            stats.liveDeltas++;
            stats.phase = 'streaming';
            const target = answer;
            this.transcript.update(
              target,
              (entry) => {
                entry.text += event.text;
              },
              event.text,
            );
            break;
          }
          case 'tool-call': {
            if (answer)
              this.transcript.update(answer, (entry) => {
                entry.streaming = false;
              });
            answer = undefined;
            const entry = this.transcript.add({ kind: 'tool', call: event.call, output: '' });
            tools.set(event.call.id, entry);
            stats.phase = 'tool';
            break;
          }
          case 'permission-decided': {
            const entry = tools.get(event.call.id);
            if (entry)
              this.transcript.update(entry, (tool) => {
                tool.permission = event.decision.allowed
                  ? event.decision.asked
                    ? 'allowed by you'
                    : undefined
                  : `denied${event.decision.asked ? ' by you' : `: ${event.decision.reason}`}`;
                if (tool.permission === undefined) delete tool.permission;
              });
            stats.phase = 'tool';
            break;
          }
          case 'tool-output': {
            const entry = tools.get(event.call.id);
            if (entry)
              this.transcript.update(entry, (tool) => {
                tool.output = (tool.output + event.text).slice(-4000);
              });
            break;
          }
          case 'tool-result': {
            const entry = tools.get(event.call.id);
            if (entry)
              this.transcript.update(entry, (tool) => {
                tool.result = { summary: summarizeOutcome(event.outcome), isError: event.outcome.isError };
              });
            stats.phase = 'thinking';
            stats.startedAt = performance.now();
            break;
          }
          case 'compaction': {
            const { compaction } = event;
            this.transcript.notice(
              compaction.method === 'shortened'
                ? `The conversation no longer fit the model's context: long tool results were shortened (${compaction.tokensBefore} → ${compaction.tokensAfter} tokens).`
                : `Earlier turns were summarised to fit the context: ${compaction.removedMessages} older messages became ${compaction.method === 'summary' ? 'a summary' : 'a list of your requests'} (${compaction.tokensBefore} → ${compaction.tokensAfter} tokens).`,
              'info',
            );
            break;
          }
          case 'tool-call-parse-error':
            this.transcript.notice(
              `The model wrote a tool call that could not be read: ${event.issue.message}`,
              'dim',
            );
            break;
          case 'done': {
            result = { reason: event.reason, text: event.text };
            if (event.reason === 'error') {
              const error = event.error as (Error & { code?: string }) | undefined;
              this.transcript.notice(
                `${error?.message ?? 'The answer failed.'}${error?.code ? ` (${error.code})` : ''}`,
                'error',
              );
            } else if (event.reason === 'max-turns') {
              this.transcript.notice(
                `Stopped after ${event.turns} model turns (the limit). Ask to continue if there is more to do.`,
                'warn',
              );
            } else if (event.reason === 'aborted' && !answer) {
              this.transcript.notice('Cancelled.', 'dim');
            }
            break;
          }
        }
        this.#view.refresh();
      }
    } catch (error) {
      this.transcript.notice(`The answer failed: ${(error as Error).message}`, 'error');
    } finally {
      stats.phase = 'idle';
      if (usageOut > 0 || usageIn > 0) {
        stats.inputTokens = usageIn;
        stats.outputTokens = usageOut;
      }
      if (rate !== undefined) stats.tokensPerSecond = rate;
      else if (stats.firstTokenAt !== undefined && stats.liveDeltas > 1)
        stats.tokensPerSecond = stats.liveDeltas / ((performance.now() - stats.firstTokenAt) / 1000);
      if (latency !== undefined) stats.latencyMs = latency;
      if (answer) {
        const parts = [
          route ? `${route.route} · ${route.model.split('/').at(-1)}` : undefined,
          usageOut ? `${usageOut} tok` : undefined,
          stats.tokensPerSecond ? `${stats.tokensPerSecond.toFixed(1)} tok/s` : undefined,
          latency !== undefined ? `first token ${formatDuration(latency)}` : undefined,
        ].filter(Boolean);
        this.transcript.update(answer, (entry) => {
          entry.streaming = false;
          if (result.reason === 'aborted') entry.ended = 'cancelled';
          entry.stats = parts.join(' · ');
        });
      }
      this.#turn = undefined;
      this.#view.refresh();
      void this.#saveSession();
    }
    return result;
  }

  /** The policy's ask: a prompt with allow once / always / deny. */
  async #askPermission(prompt: PermissionPrompt): Promise<PermissionAnswer> {
    const previous = this.stats.phase;
    this.stats.phase = 'asking';
    this.#view.refresh();
    const always = prompt.suggestedRules.length
      ? ` (${prompt.suggestedRules.map((rule) => `${rule.tool}${rule.pattern ? `(${rule.pattern})` : ''}`).join(', ')})`
      : '';
    const signal = this.#turn?.signal ?? new AbortController().signal;
    try {
      return await this.#view.choose<'allow-once' | 'allow-always' | 'deny'>(
        `${prompt.message}\n${prompt.reason}`,
        [
          { key: 'y', value: 'allow-once', label: 'Allow once' },
          { key: 'a', value: 'allow-always', label: `Always allow${always}` },
          { key: 'n', value: 'deny', label: 'Deny' },
        ],
        signal,
        'deny',
      );
    } finally {
      this.stats.phase = previous === 'asking' ? 'tool' : previous;
      this.#view.refresh();
    }
  }

  /**
   * Waits for the user's next input line (typed while the turn waits); `undefined` when the turn is
   * cancelled first.
   */
  #awaitInput(signal: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(undefined);
      const waiter = (text: string | undefined) => {
        signal.removeEventListener('abort', onAbort);
        resolve(text);
      };
      const onAbort = () => {
        if (this.#inputWaiter === waiter) this.#inputWaiter = undefined;
        resolve(undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#inputWaiter = waiter;
    });
  }

  /** AskUserQuestion: the question with its choices (keys 1 to 9), or the user's own words. */
  async #askUser(question: UserQuestion, signal: AbortSignal): Promise<UserQuestionAnswer> {
    const previous = this.stats.phase;
    this.stats.phase = 'asking';
    this.#view.refresh();
    try {
      const shown = question.options.slice(0, 9);
      let picked = 'other';
      if (shown.length > 0) {
        const details = shown
          .filter((option) => option.description)
          .map((option) => `${option.label}: ${option.description}`);
        picked = await this.#view.choose<string>(
          [
            question.question,
            ...details,
            ...(question.multiSelect
              ? ['(For several, pick "Type an answer" and write their numbers: 1,3)']
              : []),
          ].join('\n'),
          [
            ...shown.map((option, index) => ({
              key: String(index + 1),
              value: String(index),
              label: option.label,
            })),
            { key: 'o', value: 'other', label: 'Type an answer' },
          ],
          signal,
          'declined',
        );
      }
      if (picked === 'declined') return { kind: 'declined', reason: 'the user dismissed the question' };
      if (picked !== 'other') return { kind: 'selected', labels: [shown[Number(picked)]!.label] };
      this.transcript.notice(
        `${shown.length ? '' : `${question.question}\n`}Type your answer and press Enter.`,
        'info',
      );
      this.#view.refresh();
      const text = await this.#awaitInput(signal);
      if (text === undefined || text.trim() === '') return { kind: 'declined' };
      const { readUserAnswer } = await import('@shammah/tools');
      return readUserAnswer(question, text);
    } finally {
      this.stats.phase = previous === 'asking' ? 'tool' : previous;
      this.#view.refresh();
    }
  }

  /** PresentPlan: shows the plan for approval; approving (or editing) ends the turn and runs it. */
  async #reviewPresentedPlan(plan: PresentedPlan, signal: AbortSignal): Promise<PlanReview> {
    this.#presentedPlan = true;
    const entry = this.transcript.add({
      kind: 'plan',
      title: 'Proposed plan',
      steps: plan.steps.map((step) => ({ text: step, state: 'pending' as const })),
      status: 'waiting for your approval',
    });
    const previous = this.stats.phase;
    this.stats.phase = 'asking';
    this.#view.refresh();
    try {
      const choice = await this.#view.choose<'approve' | 'edit' | 'reject'>(
        'Run this plan?',
        [
          { key: 'a', value: 'approve', label: 'Approve and run it' },
          { key: 'e', value: 'edit', label: 'Edit it first' },
          { key: 'r', value: 'reject', label: 'Reject it' },
        ],
        signal,
        'reject',
      );
      if (choice === 'approve') {
        this.#approvedPlan = { entry, steps: plan.steps };
        return { decision: 'approve' };
      }
      if (choice === 'edit') {
        this.transcript.update(entry, (shown) => {
          shown.status = 'being edited';
        });
        this.#view.setInput(formatPlan(plan.steps));
        this.transcript.notice(
          'Edit the plan in the input (one numbered step per line), then press Enter.',
          'dim',
        );
        this.#view.refresh();
        const edited = await this.#awaitInput(signal);
        const steps = edited === undefined ? [] : parsePlan(edited);
        if (steps.length > 0) {
          this.transcript.update(entry, (shown) => {
            shown.steps = steps.map((step) => ({ text: step, state: 'pending' as const }));
          });
          this.#approvedPlan = { entry, steps };
          return { decision: 'edit', plan: formatPlan(steps) };
        }
        this.transcript.notice('That has no numbered steps; the plan is rejected.', 'warn');
      }
      this.transcript.update(entry, (shown) => {
        shown.status = 'rejected';
      });
      if (signal.aborted) return { decision: 'reject', feedback: 'The user cancelled.' };
      this.transcript.notice(
        'Plan rejected. Say what to change and press Enter (Ctrl+C: no comment). Still in plan mode.',
        'dim',
      );
      this.#view.refresh();
      const feedback = await this.#awaitInput(signal);
      return { decision: 'reject', feedback: feedback ?? '' };
    } finally {
      this.stats.phase = previous === 'asking' ? 'tool' : previous;
      this.#view.refresh();
    }
  }

  async #planTurn(text: string): Promise<void> {
    this.transcript.add({ kind: 'user', text });
    this.#approvedPlan = undefined;
    this.#presentedPlan = false;
    const result = await this.#runTurn(text, { mode: 'plan' });
    // Set by #reviewPresentedPlan while the turn ran.
    const approved = this.#approvedPlan as ApprovedPlan | undefined;
    this.#approvedPlan = undefined;
    if (result?.reason === 'plan-approved' && approved) {
      this.stats.planMode = false;
      this.transcript.update(approved.entry, (plan) => {
        plan.title = 'Plan';
        plan.status = 'approved, running';
      });
      await this.#executePlan(approved.entry, approved.steps);
      return;
    }
    if (result?.reason !== 'answered' || this.#presentedPlan) return;
    const steps = parsePlan(result.text);
    if (steps.length === 0) {
      this.transcript.notice(
        'The answer has no numbered plan. Ask again (e.g. "give me the plan as numbered steps"), or Shift+Tab to leave plan mode.',
        'warn',
      );
      return;
    }
    await this.#reviewPlan(steps);
  }

  /** Shows a plan and asks to approve, edit or reject it; runs it when approved. */
  async #reviewPlan(steps: string[]): Promise<void> {
    const entry = this.transcript.add({
      kind: 'plan',
      title: 'Proposed plan',
      steps: steps.map((step) => ({ text: step, state: 'pending' as const })),
      status: 'waiting for your approval',
    });
    this.stats.phase = 'asking';
    this.#view.refresh();
    const choice = await this.#view.choose<'approve' | 'edit' | 'reject'>(
      'Run this plan?',
      [
        { key: 'a', value: 'approve', label: 'Approve and run it' },
        { key: 'e', value: 'edit', label: 'Edit it first' },
        { key: 'r', value: 'reject', label: 'Reject it' },
      ],
      new AbortController().signal,
      'reject',
    );
    this.stats.phase = 'idle';
    if (choice === 'edit') {
      this.transcript.update(entry, (plan) => {
        plan.status = 'being edited';
      });
      this.#editingPlan = true;
      this.#view.setInput(formatPlan(steps));
      this.transcript.notice(
        'Edit the plan in the input (one numbered step per line), then press Enter.',
        'dim',
      );
      this.#view.refresh();
      return;
    }
    if (choice === 'reject') {
      this.transcript.update(entry, (plan) => {
        plan.status = 'rejected';
      });
      this.#runtime?.conversation.note('user', 'I reject this plan.');
      this.transcript.notice(
        'Plan rejected. Still in plan mode: say what to change, or press Shift+Tab to leave plan mode.',
        'dim',
      );
      this.#view.refresh();
      return;
    }
    this.stats.planMode = false;
    this.transcript.update(entry, (plan) => {
      plan.title = 'Plan';
      plan.status = 'approved, running';
    });
    await this.#executePlan(entry, steps);
  }

  async #executePlan(entry: Extract<TranscriptEntry, { kind: 'plan' }>, steps: string[]): Promise<void> {
    let stopped: string | undefined;
    for (let index = 0; index < steps.length; index++) {
      if (stopped) {
        this.transcript.update(entry, (plan) => {
          plan.steps[index]!.state = 'skipped';
        });
        continue;
      }
      this.stats.planProgress = `step ${index + 1}/${steps.length}`;
      this.transcript.update(entry, (plan) => {
        plan.steps[index]!.state = 'running';
        plan.status = `running step ${index + 1} of ${steps.length}`;
      });
      this.transcript.notice(`Step ${index + 1}/${steps.length}: ${steps[index]}`, 'info');
      const result = await this.#runTurn(stepPrompt(steps, index));
      const state =
        result?.reason === 'answered' ? 'done' : result?.reason === 'aborted' ? 'skipped' : 'failed';
      if (state !== 'done') stopped = state === 'skipped' ? 'cancelled' : `step ${index + 1} failed`;
      this.transcript.update(entry, (plan) => {
        plan.steps[index]!.state = state;
      });
    }
    delete this.stats.planProgress;
    const done = entry.steps.filter((step) => step.state === 'done').length;
    this.transcript.update(entry, (plan) => {
      plan.status = stopped
        ? `stopped (${stopped}): ${done} of ${steps.length} steps done`
        : `done: all ${steps.length} steps`;
    });
    this.#view.refresh();
  }

  async #command(name: string, args: string, known: boolean): Promise<void> {
    if (!known) {
      this.transcript.notice(`Unknown command /${name}. /help lists the commands.`, 'error');
      return;
    }
    switch (name) {
      case 'help':
        this.transcript.notice(helpText(), 'info');
        return;
      case 'exit':
        this.#view.exit(0);
        return;
      case 'clear':
        this.#runtime?.conversation.clear();
        // The cleared conversation stays saved; the new one gets a session of its own.
        if (this.#runtime) this.#runtime.session = this.#runtime.sessions.create({ cwd: this.#options.cwd });
        this.transcript.clear();
        this.stats.sessionTokens = 0;
        this.transcript.notice('New conversation.', 'dim');
        return;
      case 'history': {
        const count = Number.parseInt(args || '20', 10) || 20;
        const entries = this.#history?.entries ?? [];
        const shown = entries.slice(-count - 1, -1);
        this.transcript.notice(
          shown.length
            ? shown
                .map(
                  (entry, index) =>
                    `${String(entries.length - shown.length + index).padStart(4)}  ${entry.replace(/\n/g, '⏎')}`,
                )
                .join('\n')
            : 'No history yet.',
          'info',
        );
        return;
      }
      case 'local':
      case 'teacher': {
        const force = name;
        if (force === 'teacher' && (await this.#runtimeOrNotice())?.backend.status().teachers.length === 0) {
          this.transcript.notice(
            'No teachers are configured. Run `shammah setup` (or set ANTHROPIC_API_KEY) to add one.',
            'error',
          );
          return;
        }
        if (args) {
          await this.#ask(args, { force });
          return;
        }
        this.#controls = { force };
        this.stats.pinned = `/${force}`;
        this.transcript.notice(
          `Every question goes to the ${force === 'local' ? 'local model' : 'teachers'} now. /model auto lets the router decide again.`,
          'dim',
        );
        return;
      }
      case 'model':
        await this.#model(args);
        return;
      case 'plan':
        if (args === 'off' || (!args && this.stats.planMode)) {
          if (this.stats.planMode) this.togglePlanMode();
          return;
        }
        if (!this.stats.planMode) this.togglePlanMode();
        if (args && args !== 'on') await this.#planTurn(args);
        return;
      case 'feedback': {
        const match = /^(good|improve|medium|critical)\b\s*([\s\S]*)$/i.exec(args);
        if (!match) {
          this.transcript.notice(
            'Usage: /feedback good|improve|critical [correction]. A correction is the answer you wanted.',
            'error',
          );
          return;
        }
        const rating =
          match[1]!.toLowerCase() === 'medium' ? 'improve' : (match[1]!.toLowerCase() as FeedbackRating);
        await this.#feedback(rating, match[2]!);
        return;
      }
      case 'good':
      case 'medium':
      case 'critical':
        await this.#feedback(name === 'medium' ? 'improve' : name, args);
        return;
      case 'status':
        this.transcript.notice(await this.#statusReport(), 'info');
        return;
      case 'memory':
        await this.#memory(args);
        return;
      case 'patterns': {
        const runtime = await this.#runtimeOrNotice();
        if (!runtime) return;
        const { formatPermissionRule } = await import('@shammah/tools');
        const rules = runtime.permissions.rules;
        this.transcript.notice(
          rules.length
            ? `Permission rules (the last match wins):\n${rules.map((rule) => `  ${formatPermissionRule(rule)}`).join('\n')}\nSaved "always" answers live in ${runtime.paths.toolPatterns}.`
            : 'No permission rules: reads inside the project are allowed, everything else asks.',
          'info',
        );
        return;
      }
      case 'mcp':
        await this.#mcp(args);
        return;
    }
  }

  async #mcp(args: string): Promise<void> {
    const runtime = await this.#runtimeOrNotice();
    if (!runtime) return;
    const { formatMcpStatus } = await import('../commands/mcp-command.js');
    const restart = /^restart\s+(\S+)$/.exec(args);
    if (args && !restart) {
      this.transcript.notice('Usage: /mcp, or /mcp restart <server>.', 'error');
      return;
    }
    try {
      if (restart) await runtime.mcp?.restart(restart[1]!);
      this.transcript.notice(formatMcpStatus(runtime.mcp?.status() ?? []), 'info');
    } catch (error) {
      this.transcript.notice((error as Error).message, 'error');
    }
  }

  async #model(args: string): Promise<void> {
    const runtime = await this.#runtimeOrNotice();
    if (!runtime) return;
    const entries = await runtime.backend.models();
    const current = this.#controls.model ?? this.#controls.force ?? 'auto';
    if (!args) {
      this.transcript.notice(
        [
          'Models (/model <name> to use one):',
          ...entries.map(
            (entry) =>
              `  ${entry.name === current ? '▸' : ' '} ${entry.name.padEnd(36)} ${entry.kind.padEnd(8)} ${entry.detail}`,
          ),
        ].join('\n'),
        'info',
      );
      return;
    }
    const entry = entries.find((candidate) => candidate.name.toLowerCase() === args.toLowerCase());
    if (!entry) {
      this.transcript.notice(
        `No model "${args}". Use one of: ${entries.map((candidate) => candidate.name).join(', ')}. Download others with \`shammah models pull <repo>\`.`,
        'error',
      );
      return;
    }
    if (entry.kind === 'auto') {
      this.#controls = {};
      delete this.stats.pinned;
      this.transcript.notice('The router decides again (local when it can, else a teacher).', 'dim');
    } else if (entry.kind === 'local') {
      this.#controls = { force: 'local' };
      this.stats.pinned = '/local';
      this.transcript.notice(`Every question goes to the local model ${entry.detail}.`, 'dim');
    } else if (entry.kind === 'teacher') {
      this.#controls = { model: entry.name };
      this.stats.pinned = `/model ${entry.name}`;
      this.transcript.notice(`Every question goes to ${entry.name} (${entry.detail}).`, 'dim');
    } else {
      try {
        await runtime.backend.switchLocalModel(entry.name);
        this.#controls = {};
        delete this.stats.pinned;
        this.transcript.notice(`Loading ${entry.name} as the local model…`, 'dim');
      } catch (error) {
        this.transcript.notice((error as Error).message, 'error');
      }
    }
    this.#view.refresh();
  }

  async #feedback(rating: FeedbackRating, correction: string): Promise<void> {
    const runtime = await this.#runtimeOrNotice();
    const last = runtime?.conversation.lastExchange;
    if (!runtime || !last) {
      this.transcript.notice('There is no answer to rate yet.', 'error');
      return;
    }
    const { createExample, createTrainingQueue } = await import('@shammah/lora');
    const { conversationUpTo, FEEDBACK_LEVELS } = await import('../session/training-queue.js');
    const corrected = correction.trim();
    try {
      const example = createExample({
        messages: conversationUpTo(runtime.conversation.messages, last.query),
        response: corrected || last.answer,
        level: FEEDBACK_LEVELS[rating],
        feedback: corrected ? `${rating}: corrected by the user` : rating,
        ...(this.#lastAnswerModel ? { modelId: this.#lastAnswerModel } : {}),
        ...(corrected ? { rejectedResponse: last.answer } : {}),
      });
      const queue = createTrainingQueue({ path: runtime.paths.trainingQueue, logger: runtime.logger });
      await queue.append(example);
      await runtime.backend.feedback({
        ...(last.decisionId ? { decisionId: last.decisionId } : {}),
        query: last.query,
        answer: last.answer,
        rating,
        ...(corrected ? { correction: corrected } : {}),
      });
      this.transcript.notice(
        `Thanks: rated ${rating} (weight ${example.weight})${corrected ? ' with your correction' : ''}, queued for training in ${runtime.paths.trainingQueue}.`,
        'dim',
      );
    } catch (error) {
      this.transcript.notice(`Could not record the feedback: ${(error as Error).message}`, 'error');
    }
  }

  async #statusReport(): Promise<string> {
    const runtime = await this.#runtimeOrNotice();
    const status = runtime?.backend.status();
    const stats = this.stats;
    const lines = [
      `Backend:   ${status?.mode === 'daemon' ? `daemon at ${status.daemon.address} (${status.daemon.state}${status.daemon.pid ? `, pid ${status.daemon.pid}` : ''})` : 'in this process'}`,
      `Local:     ${status?.local ? `${status.local.modelId} — ${status.local.state}${status.local.reason ? ` (${status.local.reason})` : ''}${status.localTools ? '' : ', no tools'}` : 'none'}`,
      `Teachers:  ${status?.teachers.length ? status.teachers.map((teacher) => `${teacher.name} (${teacher.modelId})`).join(', ') : 'none'}`,
      `Routing:   ${stats.pinned ?? 'auto'}${stats.planMode ? ' · plan mode' : ''}`,
      `Last:      ${stats.route ? `${stats.route} · ${stats.model ?? ''} · ${stats.reason ?? ''}` : '—'}${stats.outputTokens !== undefined ? ` · ${stats.inputTokens}→${stats.outputTokens} tok` : ''}${stats.tokensPerSecond ? ` · ${stats.tokensPerSecond.toFixed(1)} tok/s` : ''}${stats.latencyMs !== undefined ? ` · first token ${formatDuration(stats.latencyMs)}` : ''}`,
      `Session:   ${stats.sessionTokens} tokens · ${formatCost(stats.costUsd)} · ${runtime?.conversation.messages.length ?? 0} messages`,
    ];
    if (runtime) lines.push(`Saved as:  ${runtime.session.id} (shammah --resume ${runtime.session.id})`);
    if (runtime) lines.push(`Home:      ${runtime.paths.home}`);
    return lines.join('\n');
  }

  async #saveSession(): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime || runtime.conversation.messages.length === 0) return;
    await runtime.session.update(runtime.conversation.messages, {
      ...(this.#lastAnswerModel ? { model: this.#lastAnswerModel } : {}),
    });
  }

  /** `--resume`, `--continue`: finds the saved session and continues it here. */
  async #restore(wanted: string): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime) return;
    try {
      let record: SessionRecord | undefined;
      if (wanted === 'pick') record = await this.#pickSession(runtime);
      else if (wanted === 'latest') {
        record =
          (await runtime.sessions.latest({ cwd: this.#options.cwd })) ?? (await runtime.sessions.latest());
        if (!record) {
          this.transcript.notice(
            `There is no saved session in ${runtime.sessions.directory} yet; this is a new one.`,
            'warn',
          );
        }
      } else record = await runtime.sessions.load(wanted);
      if (!record) return;
      runtime.session = runtime.sessions.open(record);
      runtime.conversation.restore(record.messages);
      this.#showRestored(record.messages);
      this.transcript.notice(
        `Restored session ${record.id} (${record.messages.length} messages${record.cwd !== this.#options.cwd ? `, from ${record.cwd}` : ''}).`,
        'dim',
      );
    } catch (error) {
      this.transcript.notice(`${(error as Error).message} Starting a new session.`, 'error');
    }
  }

  /** `--resume` without an id: the latest sessions to pick from (Esc: a new one). */
  async #pickSession(runtime: Runtime): Promise<SessionRecord | undefined> {
    const { sessions, skipped } = await runtime.sessions.list({ limit: 9 });
    for (const problem of skipped) this.transcript.notice(problem.message, 'warn');
    if (sessions.length === 0) {
      this.transcript.notice(`There are no saved sessions in ${runtime.sessions.directory} yet.`, 'warn');
      return undefined;
    }
    const picked = await this.#view.choose<string>(
      'Resume which session?',
      [
        ...sessions.map((session, index) => ({
          key: String(index + 1),
          value: session.id,
          label: `${session.title} · ${formatAge(Date.parse(session.updatedAt))} · ${session.messageCount} messages · ${session.id}`,
        })),
        { key: 'n', value: 'new', label: 'Start a new session' },
      ],
      new AbortController().signal,
      'new',
    );
    return picked === 'new' ? undefined : runtime.sessions.load(picked);
  }

  /** Shows a restored conversation's messages as the transcript. */
  #showRestored(messages: readonly ChatMessage[]): void {
    const tools = new Map<string, Extract<TranscriptEntry, { kind: 'tool' }>>();
    for (const message of messages) {
      if (message.role === 'tool') {
        for (const part of message.content) {
          const entry = tools.get(part.toolCallId);
          const output = typeof part.content === 'string' ? part.content : '';
          if (entry)
            entry.result = { summary: firstLine(output || '(done)', 100), isError: part.isError === true };
        }
        continue;
      }
      const content =
        typeof message.content === 'string'
          ? message.content
          : message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
      if (message.role === 'assistant' && typeof message.content !== 'string') {
        for (const part of message.content)
          if (part.type === 'tool-call')
            tools.set(
              part.id,
              this.transcript.add({
                kind: 'tool',
                call: { id: part.id, name: part.name, input: part.input },
                output: '',
              }),
            );
      }
      if (!content) continue;
      if (message.role === 'user' && content.startsWith('Summary of the earlier conversation'))
        this.transcript.notice('Earlier turns were summarised to fit the context.', 'dim');
      else if (message.role === 'user') this.transcript.add({ kind: 'user', text: content });
      else if (message.role === 'assistant')
        this.transcript.add({ kind: 'assistant', text: content, streaming: false });
    }
  }

  /** `/memory`: the instruction files in the system prompt; `/memory edit` opens the user-wide one. */
  async #memory(args: string): Promise<void> {
    const runtime = await this.#runtimeOrNotice();
    if (!runtime) return;
    const { instructionFiles, readInstructionFile } = await import('@shammah/session');
    if (args === 'edit' || args.startsWith('edit ')) {
      const file = runtime.paths.constitution;
      const editor = process.env.VISUAL || process.env.EDITOR;
      if (!editor) {
        this.transcript.notice(
          `Your instructions for every project are in ${file}. Set EDITOR (or VISUAL) to open it from here with /memory edit.`,
          'info',
        );
        return;
      }
      const { mkdir } = await import('node:fs/promises');
      const { dirname } = await import('node:path');
      await mkdir(dirname(file), { recursive: true });
      const code = await (this.#view.suspend ?? ((run) => run()))(() => runEditor(editor, file));
      if (code !== 0) {
        this.transcript.notice(
          `${editor} exited with code ${code}; ${file} is as the editor left it.`,
          'warn',
        );
      }
      const instructions = await runtime.reloadInstructions();
      this.transcript.notice(
        `Reloaded: ${instructions.sources.length} instruction file${instructions.sources.length === 1 ? '' : 's'} in the system prompt.`,
        'dim',
      );
      return;
    }
    if (args) {
      this.transcript.notice(
        'Usage: /memory shows the instruction files; /memory edit opens yours.',
        'error',
      );
      return;
    }
    const instructions = await runtime.reloadInstructions();
    const files = await instructionFiles({
      cwd: this.#options.cwd,
      constitutionPath: runtime.paths.constitution,
    });
    const lines = ['Instruction files (added to the system prompt, the most specific last):'];
    for (const file of files) {
      const source = instructions.sources.find((candidate) => candidate.path === file.path);
      const state = source
        ? `loaded, ${source.chars} characters${source.truncated ? `, cut to ${source.content.length}` : ''}`
        : file.exists
          ? 'not loaded (empty or the same as another)'
          : 'not present';
      lines.push(`  ${file.description} — ${state}`);
    }
    for (const source of instructions.sources) {
      const text = await readInstructionFile(source.path).catch(() => source.content);
      lines.push('', `── ${source.path}`, text.trimEnd());
    }
    lines.push('', '/memory edit opens your file for every project in $EDITOR.');
    this.transcript.notice(lines.join('\n'), 'info');
  }

  /** Stops the answer and frees the model. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#turn?.abort();
      // Still starting: let it finish, so the model worker is never torn down half-created.
      const runtime = this.#runtime ?? (await this.#starting?.catch(() => undefined));
      await runtime?.close().catch(() => undefined);
    })();
    return this.#closing;
  }
}
