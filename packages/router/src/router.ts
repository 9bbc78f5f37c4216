import { randomUUID } from 'node:crypto';
import {
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type Logger,
  type ModelCapabilities,
  type RouteStreamPart,
  silentLogger,
  type TokenLogprob,
  type ToolCall,
  type Usage,
} from '@shammah/provider';
import {
  type ConfidenceSettings,
  type ResolvedConfidenceSettings,
  readConfidence,
  resolveConfidenceSettings,
} from './confidence-check.js';
import {
  type CrisisPattern,
  type CrisisSignal,
  defaultCrisisPatterns,
  detectCrisis,
} from './crisis-detection.js';
import {
  type CrisisResources,
  CrisisResponder,
  defaultCrisisGuidance,
  defaultCrisisResources,
} from './crisis-response.js';
import {
  InvalidRouteRequestError,
  NoRouteAnsweredError,
  NoRouteError,
  type RouteAttemptFailure,
  RouterConfigError,
  UnknownModelError,
} from './errors.js';
import type { LocalModel } from './local-model.js';
import {
  estimateTokens,
  type RequestNeeds,
  recentUserTexts,
  requestNeeds,
  type TokenCounter,
} from './request-analysis.js';
import { type CategoryRule, classifyRequest, defaultCategoryRules } from './request-category.js';
import {
  type ErrorSummary,
  type Route,
  type RouteAttempt,
  type RouteDecision,
  type RouteReason,
  routeReasons,
  summarizeError,
} from './route-decision.js';
import type {
  FeedbackOutcome,
  FeedbackRating,
  LearningSnapshot,
  RoutingLearning,
} from './routing-learning.js';

/** A teacher with the router's view of it. */
export interface TeacherEntry {
  model: ChatModel;
  /** Display name, and a name the request's `model` can use. Default: the model's `name`, else `provider:modelId`. */
  name?: string;
  /**
   * How capable the teacher is; crisis requests go to the strongest first. Default 0; ties keep
   * the configured order.
   */
  strength?: number;
}

/** Settings of the crisis check. */
export interface CrisisSettings {
  /** Default true. Turning it off sends crisis messages wherever other rules send them. */
  detect?: boolean;
  /** The detector's rules. Default {@link defaultCrisisPatterns}. */
  patterns?: readonly CrisisPattern[];
  /** How many of the latest user messages to check. Default 3, so a crisis stays with the teacher for a few turns. */
  lookback?: number;
  /** The system note added to a crisis request for the teacher; false to add none. Default {@link defaultCrisisGuidance}. */
  guidance?: string | false;
  /** Resources for the offline answer. Default {@link defaultCrisisResources}. */
  resources?: CrisisResources;
}

/** Settings of {@link createRouter}. */
export interface RouterSettings {
  /** The local model (`Generator` from `@shammah/core-inference` fits). */
  local?: LocalModel;
  /** Teachers in order: the first is the primary, the rest are fallbacks. */
  teachers?: ReadonlyArray<ChatModel | TeacherEntry>;
  /** Counts a request's prompt tokens for the local model. Default: ~4 characters a token. */
  countTokens?: TokenCounter;
  /**
   * Tokens kept free for the answer when checking that a request fits the local context, unless the
   * request sets `maxTokens`. Default 512.
   */
  answerReserveTokens?: number;
  /**
   * Checks the start of each local answer and escalates to a teacher when it is unlikely. Off by
   * default; `true` uses the default thresholds.
   */
  confidence?: boolean | ConfidenceSettings;
  crisis?: CrisisSettings;
  /** Per-category learning from feedback (see `RoutingLearning`). Without it, categories never escalate. */
  learning?: RoutingLearning;
  /** Category rules. Default {@link defaultCategoryRules}. */
  categories?: readonly CategoryRule[];
  /** Called with the record of every request, when it ends. */
  onDecision?: (decision: RouteDecision) => void;
  logger?: Logger;
}

/** A chat request with the router's own fields. */
export interface RouterRequest extends ChatRequest {
  /**
   * Send the request to the local model or to the teachers, whatever the rules say (`/local`,
   * `/teacher`). Crisis requests never go to the local model. Also read from
   * `providerOptions['shammah-router'].force`.
   */
  force?: 'local' | 'teacher';
  /**
   * A model by name: `local`, `teacher` (any teacher), `auto`, or a teacher's name, model id or
   * `provider:modelId`. Takes precedence over `force`. Also read from
   * `providerOptions['shammah-router'].model`.
   */
  model?: string;
  /** Called with this request's decision record. */
  onDecision?: (decision: RouteDecision) => void;
}

/** A whole answer with the record of how it was routed. */
export interface RoutedResult extends ChatResult {
  decision: RouteDecision;
}

/** Feedback on an answer, for learning. */
export interface RouterFeedback {
  /** The decision's id (from the record, or the result of `generate`). */
  decisionId?: string;
  /** Or the user's message, matched against recent requests (for the original's feedback, which has no id). */
  query?: string;
  rating: FeedbackRating;
}

/** Counts of decisions since the router started. */
export interface DecisionCounts {
  total: number;
  byRoute: Record<Route | 'none', number>;
  byReason: Record<RouteReason, number>;
  /** Decisions whose answer came from a model other than the first tried. */
  fallbacks: number;
  /** Decisions that ended without an answer, or with a broken one. */
  errors: number;
  /** Estimated teacher cost in US dollars, where teachers priced it. */
  costUsd: number;
}

/** The router's state, for `/status` and `/metrics`. */
export interface RouterSnapshot {
  local?: { provider: string; modelId: string; state: string; progress?: number; reason?: string };
  teachers: Array<{ name: string; provider: string; modelId: string; strength: number }>;
  confidence?: ResolvedConfidenceSettings;
  decisions: DecisionCounts;
  learning?: LearningSnapshot;
}

interface Teacher {
  model: ChatModel;
  name: string;
  strength: number;
  order: number;
}

interface Candidate {
  route: Route;
  model: ChatModel;
  name: string;
  reason: RouteReason;
  message: string;
  checkConfidence: boolean;
  /** The local model tried after every teacher failed. */
  lastResort?: boolean;
}

interface Plan {
  candidates: Candidate[];
  category: string;
  crisis?: CrisisSignal;
  promptTokens: number;
  needs: RequestNeeds;
  forced?: 'local' | 'teacher';
  requestedModel?: string;
}

interface Controls {
  force?: 'local' | 'teacher';
  model?: string;
  onDecision?: (decision: RouteDecision) => void;
}

const routerOptionsKey = 'shammah-router';
const recentDecisionLimit = 500;

function isApiError(error: unknown): error is Error & { kind: string; isRetryable: boolean } {
  return (
    error instanceof Error &&
    typeof (error as { kind?: unknown }).kind === 'string' &&
    typeof (error as { isRetryable?: unknown }).isRetryable === 'boolean'
  );
}

/**
 * Whether a teacher's error should move on to the next teacher: errors another provider may not
 * have (rate limits, server, network, time-out; a bad or out-of-credit key; an unknown model id).
 * An invalid or too-long request would fail everywhere, and anything else is a bug to surface.
 */
export function isTeacherFallbackError(error: unknown): boolean {
  if (!isApiError(error)) return false;
  return error.isRetryable || error.kind === 'auth' || error.kind === 'not-found';
}

function teacherName(model: ChatModel, name: string | undefined): string {
  if (name) return name;
  const own = (model as ChatModel & { name?: unknown }).name;
  return typeof own === 'string' && own !== '' ? own : `${model.provider}:${model.modelId}`;
}

function costOf(model: ChatModel, usage: Usage): number | undefined {
  const pricer = (model as ChatModel & { costOf?: unknown }).costOf;
  if (typeof pricer !== 'function') return undefined;
  try {
    const cost = (pricer as (usage: Usage) => unknown).call(model, usage);
    return typeof cost === 'number' && Number.isFinite(cost) ? cost : undefined;
  } catch {
    return undefined;
  }
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

function withGuidance(messages: readonly ChatMessage[], guidance: string): ChatMessage[] {
  const [first, ...rest] = messages;
  if (first?.role === 'system')
    return [{ role: 'system', content: `${first.content}\n\n${guidance}` }, ...rest];
  return [{ role: 'system', content: guidance }, ...messages];
}

function emptyCounts(): DecisionCounts {
  return {
    total: 0,
    byRoute: { local: 0, teacher: 0, builtin: 0, none: 0 },
    byReason: Object.fromEntries(routeReasons.map((reason) => [reason, 0])) as Record<RouteReason, number>,
    fallbacks: 0,
    errors: 0,
    costUsd: 0,
  };
}

const crisisWords: Record<CrisisSignal['kind'], string> = {
  'self-harm': 'self-harm or suicide',
  violence: 'violence or danger to someone',
  medical: 'a medical emergency',
};

/**
 * Decides, for each request, whether the local model or a cloud teacher answers, and says why. It
 * is itself a {@link ChatModel}: stream from it as from any model. Each answer begins with a
 * `route` part naming the model and the reason; every request ends with a {@link RouteDecision}
 * record passed to `onDecision` listeners.
 *
 * The rules, in order: a conversation showing signs of crisis goes to the strongest teacher (or,
 * with none reachable, gets a fixed answer with crisis resources), never to the local model; the
 * request's `model` or `force` is obeyed; otherwise the local model answers when it is ready, the
 * request fits its context and capabilities, and learning has not found its category weak. A local
 * model that fails before showing anything, or whose first tokens are unlikely (the optional
 * confidence check), is replaced by a teacher without the caller seeing an error. One that fails
 * mid-answer is replaced too: a `route` part with `restart: true` tells the caller to discard the
 * partial answer, and the teacher's answer follows. Teachers are tried in order; a retryable, auth
 * or unknown-model error moves on to the next.
 *
 * @example
 * ```ts
 * import { createRouter } from '@shammah/router';
 *
 * const router = createRouter({ local: generator, teachers: [claude, openai], logger });
 * for await (const part of router.stream({ messages: [{ role: 'user', content: 'What is a monad?' }] })) {
 *   if (part.type === 'route') console.error(`[${part.route}: ${part.model}, ${part.reason}]`);
 *   if (part.type === 'text-delta') process.stdout.write(part.text);
 * }
 * ```
 */
export class Router implements ChatModel {
  readonly provider = 'shammah-router';
  readonly modelId = 'auto';
  readonly #local: LocalModel | undefined;
  readonly #teachers: readonly Teacher[];
  readonly #countTokens: TokenCounter | undefined;
  readonly #answerReserve: number;
  readonly #confidence: ResolvedConfidenceSettings | undefined;
  readonly #crisis: Required<Omit<CrisisSettings, 'guidance'>> & { guidance: string | false };
  readonly #learning: RoutingLearning | undefined;
  readonly #categories: readonly CategoryRule[];
  readonly #listeners = new Set<(decision: RouteDecision) => void>();
  readonly #log: Logger;
  readonly #recent = new Map<string, { category: string; route: Route | 'none'; query: string }>();
  #counts = emptyCounts();

  constructor(settings: RouterSettings) {
    this.#local = settings.local;
    this.#teachers = (settings.teachers ?? []).map((item, order) => {
      const entry: TeacherEntry =
        'model' in item && typeof item.model === 'object' ? item : { model: item as ChatModel };
      return {
        model: entry.model,
        name: teacherName(entry.model, entry.name),
        strength: entry.strength ?? 0,
        order,
      };
    });
    if (!this.#local && this.#teachers.length === 0) {
      throw new RouterConfigError(
        'The router has neither a local model nor a teacher. Give it `local` (a loaded Generator), `teachers`, or both.',
      );
    }
    this.#countTokens = settings.countTokens;
    this.#answerReserve = settings.answerReserveTokens ?? 512;
    this.#confidence =
      settings.confidence === undefined || settings.confidence === false
        ? undefined
        : resolveConfidenceSettings(settings.confidence === true ? {} : settings.confidence);
    this.#crisis = {
      detect: settings.crisis?.detect ?? true,
      patterns: settings.crisis?.patterns ?? defaultCrisisPatterns,
      lookback: settings.crisis?.lookback ?? 3,
      guidance: settings.crisis?.guidance ?? defaultCrisisGuidance,
      resources: settings.crisis?.resources ?? defaultCrisisResources,
    };
    this.#learning = settings.learning;
    this.#categories = settings.categories ?? defaultCategoryRules;
    if (settings.onDecision) this.#listeners.add(settings.onDecision);
    this.#log = (settings.logger ?? silentLogger).child({ module: 'router' });
  }

  /** What the router can do: the best of its models. */
  get capabilities(): ModelCapabilities {
    const models = [...(this.#local ? [this.#local] : []), ...this.#teachers.map((teacher) => teacher.model)];
    const all = models.map((model) => model.capabilities);
    return {
      tools: all.some((capabilities) => capabilities.tools),
      streaming: true,
      vision: all.some((capabilities) => capabilities.vision),
      contextLength: Math.max(...all.map((capabilities) => capabilities.contextLength)),
      maxOutputTokens: Math.max(...all.map((capabilities) => capabilities.maxOutputTokens)),
    };
  }

  /** Subscribes to decision records; returns a function that unsubscribes. */
  onDecision(listener: (decision: RouteDecision) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Streams the answer of whichever model the rules pick, led by a `route` part. */
  stream(request: RouterRequest): AsyncIterable<ChatStreamPart> {
    return this.#run(request);
  }

  /** The whole answer, with its decision record. */
  async generate(request: RouterRequest): Promise<RoutedResult> {
    let decision: RouteDecision | undefined;
    const result = await collectStream(
      this.#run(request, (made) => {
        decision = made;
      }),
    );
    return { ...result, decision: decision! };
  }

  /**
   * Feeds the user's rating of an answer to learning. Only ratings of local answers change a
   * category's local success rate; a teacher's answer says nothing about the local model.
   */
  feedback(feedback: RouterFeedback): FeedbackOutcome {
    let found: { category: string; route: Route | 'none' } | undefined;
    if (feedback.decisionId !== undefined) found = this.#recent.get(feedback.decisionId);
    if (!found && feedback.query !== undefined) {
      const query = feedback.query.trim();
      for (const entry of [...this.#recent.values()].reverse()) {
        if (entry.query.trim() === query) {
          found = entry;
          break;
        }
      }
    }
    if (!found) {
      const category =
        feedback.query !== undefined ? classifyRequest(feedback.query, this.#categories) : 'other';
      return { applied: false, category, reason: 'unknown-answer' };
    }
    if (found.route !== 'local')
      return { applied: false, category: found.category, reason: 'teacher-answer' };
    if (!this.#learning) return { applied: false, category: found.category, reason: 'learning-off' };
    const snapshot = this.#learning.recordFeedback(found.category, feedback.rating);
    return { applied: true, category: found.category, snapshot };
  }

  /** The router's state, for `/status` and `/metrics`. */
  snapshot(): RouterSnapshot {
    const local = this.#local;
    const status = local?.status;
    return {
      ...(local && status
        ? {
            local: {
              provider: local.provider,
              modelId: local.modelId,
              state: status.state,
              ...(status.progress !== undefined ? { progress: status.progress } : {}),
              ...(status.reason !== undefined ? { reason: status.reason } : {}),
            },
          }
        : {}),
      teachers: this.#teachers.map((teacher) => ({
        name: teacher.name,
        provider: teacher.model.provider,
        modelId: teacher.model.modelId,
        strength: teacher.strength,
      })),
      ...(this.#confidence ? { confidence: { ...this.#confidence } } : {}),
      decisions: structuredClone(this.#counts),
      ...(this.#learning ? { learning: this.#learning.snapshot() } : {}),
    };
  }

  /** Saves learning; call before the process exits. */
  async close(): Promise<void> {
    await this.#learning?.close();
  }

  #controls(request: RouterRequest): { controls: Controls; modelRequest: ChatRequest } {
    const { force, model, onDecision, ...rest } = request;
    const { [routerOptionsKey]: options, ...otherOptions } = rest.providerOptions ?? {};
    const controls: Controls = {};
    const forceValue = force ?? options?.force;
    if (forceValue !== undefined) {
      if (forceValue !== 'local' && forceValue !== 'teacher') {
        throw new InvalidRouteRequestError(
          `force is ${JSON.stringify(forceValue)}; use "local" or "teacher", or leave it out to let the router decide.`,
        );
      }
      controls.force = forceValue;
    }
    const modelValue = model ?? options?.model;
    if (modelValue !== undefined) {
      if (typeof modelValue !== 'string') {
        throw new InvalidRouteRequestError(
          `model is ${JSON.stringify(modelValue)}; give a model name as a string.`,
        );
      }
      controls.model = modelValue;
    }
    if (onDecision) controls.onDecision = onDecision;
    const modelRequest: ChatRequest = { ...rest };
    if (rest.providerOptions) {
      if (Object.keys(otherOptions).length > 0) modelRequest.providerOptions = otherOptions;
      else delete modelRequest.providerOptions;
    }
    return { controls, modelRequest };
  }

  async #promptTokens(request: ChatRequest, localReady: boolean): Promise<number> {
    if (this.#countTokens && localReady) {
      try {
        return await this.#countTokens(request);
      } catch (error) {
        this.#log.warn({ error: (error as Error).message }, 'token counter failed; estimating instead');
      }
    }
    return estimateTokens(request);
  }

  #teacherCandidates(teachers: readonly Teacher[], reason: RouteReason, message: string): Candidate[] {
    return teachers.map((teacher) => ({
      route: 'teacher',
      model: teacher.model,
      name: teacher.name,
      reason,
      message,
      checkConfidence: false,
    }));
  }

  #localCandidate(
    reason: RouteReason,
    message: string,
    checkConfidence: boolean,
    lastResort = false,
  ): Candidate {
    const local = this.#local!;
    return {
      route: 'local',
      model: local,
      name: `local:${local.modelId}`,
      reason,
      message,
      checkConfidence: checkConfidence && this.#confidence !== undefined && this.#teachers.length > 0,
      ...(lastResort ? { lastResort } : {}),
    };
  }

  #findTeacher(name: string): Teacher | undefined {
    const wanted = name.trim().toLowerCase();
    return this.#teachers.find((teacher) =>
      [
        teacher.name,
        teacher.model.modelId,
        `${teacher.model.provider}:${teacher.model.modelId}`,
        teacher.model.provider,
      ]
        .map((alias) => alias.toLowerCase())
        .includes(wanted),
    );
  }

  /** Why the local model cannot take this request, or undefined when it can. */
  #localUnavailable(
    needs: RequestNeeds,
    promptTokens: number,
    request: ChatRequest,
  ): { reason: RouteReason; message: string } | undefined {
    const local = this.#local;
    if (!local) return { reason: 'no-local-model', message: 'No local model is configured.' };
    const status = local.status;
    switch (status.state) {
      case 'absent':
        return { reason: 'local-absent', message: `The local model ${local.modelId} is not downloaded.` };
      case 'downloading':
        return {
          reason: 'local-downloading',
          message: `The local model ${local.modelId} is downloading${status.progress !== undefined ? ` (${percent(status.progress)})` : ''}.`,
        };
      case 'loading':
        return { reason: 'local-loading', message: `The local model ${local.modelId} is still loading.` };
      case 'failed':
        return {
          reason: 'local-failed',
          message: `The local model ${local.modelId} failed to load${status.reason ? `: ${status.reason}` : ''}.`,
        };
      default:
        break;
    }
    const capabilities = local.capabilities;
    if (needs.tools && !capabilities.tools) {
      return {
        reason: 'needs-tools',
        message: 'The request offers tools, and the local model cannot call tools.',
      };
    }
    if (needs.vision && !capabilities.vision) {
      return {
        reason: 'needs-vision',
        message: 'The request contains images, and the local model cannot see them.',
      };
    }
    const reserve = Math.min(request.maxTokens ?? this.#answerReserve, capabilities.maxOutputTokens);
    if (promptTokens + reserve > capabilities.contextLength) {
      return {
        reason: 'context-too-long',
        message:
          `The request needs about ${promptTokens} prompt tokens and ${reserve} for the answer; ` +
          `the local model's context holds ${capabilities.contextLength}.`,
      };
    }
    return undefined;
  }

  #detectCrisis(messages: readonly ChatMessage[]): CrisisSignal | undefined {
    if (!this.#crisis.detect) return undefined;
    for (const text of recentUserTexts(messages, this.#crisis.lookback)) {
      const signal = detectCrisis(text, this.#crisis.patterns);
      if (signal) return signal;
    }
    return undefined;
  }

  async #plan(request: ChatRequest, controls: Controls): Promise<Plan> {
    const lastUser = recentUserTexts(request.messages, 1)[0] ?? '';
    const category = classifyRequest(lastUser, this.#categories);
    const needs = requestNeeds(request);
    const localReady = this.#local?.status.state === 'ready';
    const promptTokens = await this.#promptTokens(request, localReady);
    const base = { category, needs, promptTokens };
    const crisis = this.#detectCrisis(request.messages);

    if (crisis) {
      const strongestFirst = [...this.#teachers].sort((a, b) => b.strength - a.strength || a.order - b.order);
      const message = `The conversation shows signs of ${crisisWords[crisis.kind]} ("${crisis.phrase}"); the strongest available teacher answers, never the local model.`;
      const responder = new CrisisResponder(crisis.kind, this.#crisis.resources);
      return {
        ...base,
        crisis,
        ...(controls.force ? { forced: controls.force } : {}),
        ...(controls.model ? { requestedModel: controls.model } : {}),
        candidates: [
          ...this.#teacherCandidates(strongestFirst, 'crisis', message),
          {
            route: 'builtin',
            model: responder,
            name: 'crisis resources',
            reason: 'crisis-offline',
            message: `The conversation shows signs of ${crisisWords[crisis.kind]} and no teacher could be reached, so a fixed answer with crisis resources was given.`,
            checkConfidence: false,
          },
        ],
      };
    }

    let force = controls.force;
    const requested = controls.model?.trim();
    if (
      requested !== undefined &&
      requested !== '' &&
      !['auto', 'shammah-router'].includes(requested.toLowerCase())
    ) {
      const lower = requested.toLowerCase();
      if (lower === 'local') force = 'local';
      else if (lower === 'teacher') force = 'teacher';
      else {
        const teacher = this.#findTeacher(requested);
        if (!teacher) {
          throw new UnknownModelError(
            requested,
            this.#teachers.map((entry) => entry.name),
            this.#local !== undefined,
          );
        }
        const others = this.#teachers.filter((entry) => entry !== teacher);
        return {
          ...base,
          requestedModel: requested,
          candidates: this.#teacherCandidates(
            [teacher, ...others],
            'requested-model',
            `The request named ${teacher.name}.`,
          ),
        };
      }
    }
    const requestedField = requested ? { requestedModel: requested } : {};

    if (force === 'teacher') {
      if (this.#teachers.length === 0) {
        throw new NoRouteError(
          'A teacher was asked for (/teacher), but none is configured. Add a [[teachers]] entry to ~/.shammah/config.toml ' +
            'or set ANTHROPIC_API_KEY, or ask the local model.',
        );
      }
      return {
        ...base,
        ...requestedField,
        forced: 'teacher',
        candidates: this.#teacherCandidates(
          this.#teachers,
          'forced-teacher',
          'A teacher was asked for (/teacher).',
        ),
      };
    }
    if (force === 'local') {
      if (!this.#local) {
        throw new NoRouteError(
          'The local model was asked for (/local), but none is configured. Set [backend] in ~/.shammah/config.toml, or ask a teacher.',
        );
      }
      return {
        ...base,
        ...requestedField,
        forced: 'local',
        candidates: [this.#localCandidate('forced-local', 'The local model was asked for (/local).', false)],
      };
    }

    const unavailable = this.#localUnavailable(needs, promptTokens, request);
    if (unavailable) {
      if (this.#teachers.length > 0) {
        return {
          ...base,
          candidates: this.#teacherCandidates(this.#teachers, unavailable.reason, unavailable.message),
        };
      }
      const state = this.#local?.status.state;
      if (state === 'loading' || state === 'downloading') {
        // With no teacher, waiting for the model is the only way to an answer.
        return {
          ...base,
          candidates: [
            this.#localCandidate(
              'no-teacher',
              `${unavailable.message} No teacher is configured, so the answer waits for it.`,
              false,
            ),
          ],
        };
      }
      throw new NoRouteError(
        `${unavailable.message} No teacher is configured to answer instead. ` +
          (unavailable.reason === 'local-absent' || unavailable.reason === 'local-failed'
            ? 'Download or repair the model (`shammah models pull`), or add a teacher ([[teachers]] in ~/.shammah/config.toml, or ANTHROPIC_API_KEY).'
            : 'Shorten or simplify the request, or add a teacher ([[teachers]] in ~/.shammah/config.toml, or ANTHROPIC_API_KEY).'),
      );
    }

    const advice = this.#learning?.consult(category);
    if (advice?.escalate) {
      const message =
        `Local answers to "${category}" requests are judged good ${percent(advice.successRate)} of the time, ` +
        `under the ${percent(advice.threshold)} threshold.`;
      if (this.#teachers.length === 0) {
        return {
          ...base,
          candidates: [
            this.#localCandidate(
              'no-teacher',
              `${message} No teacher is configured, so the local model answers.`,
              false,
            ),
          ],
        };
      }
      return {
        ...base,
        candidates: [
          ...this.#teacherCandidates(this.#teachers, 'learned-low-success', message),
          this.#localCandidate(
            'teachers-unavailable',
            'No teacher could answer, so the local model did.',
            false,
            true,
          ),
        ],
      };
    }
    const local = this.#local!;
    const primary = advice?.probe
      ? this.#localCandidate(
          'learning-probe',
          `"${category}" requests usually go to a teacher (local success ${percent(advice.successRate)}, threshold ` +
            `${percent(advice.threshold)}); this one gives the local model another chance.`,
          true,
        )
      : this.#localCandidate(
          'local-default',
          `The local model ${local.modelId} is ready and the request fits it (${promptTokens} of ${local.capabilities.contextLength} tokens).`,
          true,
        );
    return {
      ...base,
      candidates: [primary, ...this.#teacherCandidates(this.#teachers, 'local-error', '')],
    };
  }

  #requestFor(candidate: Candidate, request: ChatRequest, plan: Plan): ChatRequest {
    let modelRequest = request;
    if (candidate.route === 'local' && candidate.checkConfidence)
      modelRequest = { ...modelRequest, logprobs: true };
    if (plan.crisis && candidate.route === 'teacher' && this.#crisis.guidance !== false) {
      modelRequest = {
        ...modelRequest,
        messages: withGuidance(modelRequest.messages, this.#crisis.guidance),
      };
    }
    return modelRequest;
  }

  #publish(
    decision: RouteDecision,
    listeners: ReadonlyArray<((decision: RouteDecision) => void) | undefined>,
  ): void {
    const counts = this.#counts;
    counts.total += 1;
    counts.byRoute[decision.route] += 1;
    counts.byReason[decision.reason] += 1;
    if (decision.fallback) counts.fallbacks += 1;
    if (decision.error) counts.errors += 1;
    if (decision.costUsd !== undefined) counts.costUsd += decision.costUsd;
    this.#recent.set(decision.id, {
      category: decision.category,
      route: decision.route,
      query: recentUserTexts(decision.request.messages, 1)[0] ?? '',
    });
    while (this.#recent.size > recentDecisionLimit) this.#recent.delete(this.#recent.keys().next().value!);
    this.#log.info(
      {
        decision: decision.id,
        route: decision.route,
        reason: decision.reason,
        model: decision.modelId,
        category: decision.category,
        fallback: decision.fallback,
        latencyMs: Math.round(decision.latencyMs),
        ...(decision.error ? { error: decision.error.message } : {}),
      },
      decision.message,
    );
    for (const listener of [...this.#listeners, ...listeners]) {
      if (!listener) continue;
      try {
        listener(decision);
      } catch (error) {
        this.#log.error(
          { error: (error as Error).message },
          'a decision listener threw; the answer is unaffected',
        );
      }
    }
  }

  async *#run(
    request: RouterRequest,
    onThisDecision?: (decision: RouteDecision) => void,
  ): AsyncGenerator<ChatStreamPart> {
    const started = performance.now();
    const startedAt = new Date().toISOString();
    const id = randomUUID();
    const { signal: _signal, force: _force, model: _model, onDecision: _onDecision, ...recordable } = request;
    const chain: RouteAttempt[] = [];
    let controls: Controls = {};
    let plan: Plan | undefined;
    let published = false;
    let firstShownAt: number | undefined;
    let lastAttempt: RouteAttempt | undefined;

    type DecisionFields = Partial<RouteDecision> &
      Pick<RouteDecision, 'route' | 'reason' | 'message' | 'finishReason'>;
    const decide = (fields: DecisionFields) => {
      const decision: RouteDecision = {
        id,
        startedAt,
        provider: '',
        modelId: '',
        name: '',
        category: plan?.category ?? 'other',
        ...(plan?.crisis ? { crisis: plan.crisis } : {}),
        ...(plan?.forced ? { forced: plan.forced } : {}),
        ...(plan?.requestedModel ? { requestedModel: plan.requestedModel } : {}),
        fallback: chain.filter((attempt) => attempt.outcome !== 'skipped').length > 1,
        chain,
        promptTokens: plan?.promptTokens ?? 0,
        latencyMs: performance.now() - started,
        ...(firstShownAt !== undefined ? { timeToFirstTokenMs: firstShownAt - started } : {}),
        request: recordable,
        answer: { text: '', toolCalls: [] },
        ...fields,
      };
      published = true;
      this.#publish(decision, [controls.onDecision, onThisDecision]);
    };
    const decideAborted = () => {
      if (lastAttempt && !chain.includes(lastAttempt)) {
        lastAttempt.outcome = 'aborted';
        chain.push(lastAttempt);
      }
      decide({
        route: lastAttempt?.route ?? 'none',
        reason: lastAttempt?.reason ?? 'no-route',
        message: 'The request was cancelled before the answer ended.',
        provider: lastAttempt?.provider ?? '',
        modelId: lastAttempt?.modelId ?? '',
        name: lastAttempt?.name ?? '',
        finishReason: 'abort',
      });
    };

    let modelRequest: ChatRequest;
    try {
      ({ controls, modelRequest } = this.#controls(request));
      plan = await this.#plan(modelRequest, controls);
    } catch (error) {
      decide({
        route: 'none',
        reason: 'no-route',
        message: (error as Error).message,
        finishReason: 'error',
        error: summarizeError(error),
      });
      throw error;
    }

    const signal = modelRequest.signal;
    const wantsLogprobs = modelRequest.logprobs === true;
    const abortPart: ChatStreamPart = {
      type: 'finish',
      finishReason: 'abort',
      usage: { inputTokens: 0, outputTokens: 0 },
    };
    const failures: RouteAttemptFailure[] = [];
    const skips: string[] = [];
    let shownByAnyone = false;
    /** Set when the local model is abandoned: the teachers after it answer for this reason. */
    let override: { reason: RouteReason; message: string } | undefined;
    /** Set when a teacher fails in a way the next teacher would too. */
    let teachersStopped: ErrorSummary | undefined;

    try {
      candidates: for (const candidate of plan.candidates) {
        const model = candidate.model;
        const skip = (why: string, error?: ErrorSummary) => {
          skips.push(`${candidate.name} ${why}`);
          chain.push({
            route: candidate.route,
            provider: model.provider,
            modelId: model.modelId,
            name: candidate.name,
            reason: candidate.reason,
            outcome: 'skipped',
            latencyMs: 0,
            ...(error ? { error } : {}),
          });
        };
        if (signal?.aborted) {
          decideAborted();
          yield abortPart;
          return;
        }
        if ((candidate.route === 'teacher' || candidate.lastResort) && teachersStopped) {
          skip(`was not tried after "${teachersStopped.message}"`, teachersStopped);
          continue;
        }
        if (candidate.route === 'teacher' && plan.needs.tools && !model.capabilities.tools) {
          skip('cannot call tools');
          continue;
        }
        if (candidate.route === 'teacher' && plan.needs.vision && !model.capabilities.vision) {
          skip('cannot see images');
          continue;
        }

        const switched = candidate.route === 'teacher' && override !== undefined;
        const reason = switched ? override!.reason : candidate.reason;
        const earlier = failures
          .filter((failure) => !(switched && failure.route === 'local'))
          .map((failure) => `${failure.model} failed (${summarizeError(failure.error).message})`);
        const message =
          (switched ? override!.message : candidate.message) +
          (earlier.length > 0 ? ` ${earlier.join('; ')}; ${candidate.name} answered.` : '');
        const attemptStarted = performance.now();
        const attempt: RouteAttempt = {
          route: candidate.route,
          provider: model.provider,
          modelId: model.modelId,
          name: candidate.name,
          reason,
          outcome: 'failed',
          latencyMs: 0,
        };
        lastAttempt = attempt;
        const restart = shownByAnyone;
        let announced = false;
        let shownByThis = false;
        let text = '';
        const toolCalls: ToolCall[] = [];

        /** Passes one part to the caller, announcing the route first and recording the decision at the end. */
        const deliver = function* (part: ChatStreamPart): Generator<ChatStreamPart> {
          if (part.type === 'logprobs' && !wantsLogprobs) return;
          if (!announced) {
            announced = true;
            const route: RouteStreamPart = {
              type: 'route',
              route: candidate.route,
              provider: model.provider,
              model: model.modelId,
              reason,
              message,
              ...(restart ? { restart: true } : {}),
            };
            yield route;
          }
          if (part.type === 'finish') {
            attempt.outcome = part.finishReason === 'abort' ? 'aborted' : 'answered';
            attempt.latencyMs = performance.now() - attemptStarted;
            attempt.usage = part.usage;
            chain.push(attempt);
            const cost = costOf(model, part.usage);
            decide({
              route: candidate.route,
              reason,
              message,
              provider: model.provider,
              modelId: part.modelId ?? model.modelId,
              name: candidate.name,
              ...(attempt.confidence ? { confidence: attempt.confidence } : {}),
              usage: part.usage,
              ...(cost !== undefined ? { costUsd: cost } : {}),
              finishReason: part.finishReason,
              answer: { text, toolCalls },
            });
            yield { ...part, modelId: part.modelId ?? model.modelId };
            return;
          }
          if (part.type === 'text-delta') text += part.text;
          if (part.type === 'tool-call') toolCalls.push({ id: part.id, name: part.name, input: part.input });
          if (part.type === 'text-delta' || part.type.startsWith('tool-call')) {
            shownByThis = true;
            shownByAnyone = true;
            firstShownAt ??= performance.now();
          }
          yield part;
        };

        const confidence = candidate.checkConfidence ? this.#confidence : undefined;
        let holding = confidence !== undefined;
        const held: ChatStreamPart[] = [];
        const heldLogprobs: TokenLogprob[] = [];
        let heldTexts = 0;
        let iterator: AsyncIterator<ChatStreamPart> | undefined;
        let open = false;
        try {
          iterator = model.stream(this.#requestFor(candidate, modelRequest, plan))[Symbol.asyncIterator]();
          open = true;
          for (;;) {
            const next = await iterator.next();
            if (next.done) {
              open = false;
              throw new Error(
                `The ${candidate.name} stream ended without a finish part; the answer is incomplete.`,
              );
            }
            const part = next.value;
            // A nested router's announcement gives way to ours.
            if (part.type === 'route') continue;
            if (holding && confidence) {
              // Hold the start of the answer back until its confidence is known.
              held.push(part);
              if (part.type === 'logprobs') heldLogprobs.push(...part.logprobs);
              if (part.type === 'text-delta') heldTexts += 1;
              // A token's log-probability follows its text; a model that reports none is judged unjudgeable
              // once a token more than the window has arrived.
              const enough = heldLogprobs.length >= confidence.tokens || heldTexts > confidence.tokens;
              if (part.type !== 'finish' && !enough) continue;
              holding = false;
              const reading = readConfidence(heldLogprobs, confidence);
              if (reading) attempt.confidence = reading;
              if (reading && !reading.passed) {
                attempt.outcome = 'low-confidence';
                attempt.latencyMs = performance.now() - attemptStarted;
                chain.push(attempt);
                this.#learning?.recordLowConfidence(plan.category);
                override = {
                  reason: 'low-confidence',
                  message:
                    `The local answer's first ${reading.tokens} tokens had a mean log-probability of ` +
                    `${reading.meanLogprob.toFixed(2)} (lowest ${reading.minLogprob.toFixed(2)}), under the ` +
                    'confidence threshold; a teacher answered instead.',
                };
                this.#log.info(
                  { category: plan.category, ...reading },
                  'local answer not confident; escalating',
                );
                continue candidates;
              }
              for (const heldPart of held.splice(0)) {
                yield* deliver(heldPart);
                if (heldPart.type === 'finish') return;
              }
              continue;
            }
            yield* deliver(part);
            if (part.type === 'finish') return;
          }
        } catch (error) {
          open = false;
          attempt.latencyMs = performance.now() - attemptStarted;
          if (signal?.aborted) {
            attempt.outcome = 'aborted';
            chain.push(attempt);
            decideAborted();
            yield abortPart;
            return;
          }
          attempt.outcome = shownByThis ? 'failed-mid-stream' : 'failed';
          attempt.error = summarizeError(error);
          chain.push(attempt);
          failures.push({ route: candidate.route, provider: model.provider, model: candidate.name, error });
          this.#log.warn(
            {
              model: candidate.name,
              route: candidate.route,
              midStream: shownByThis,
              error: attempt.error.message,
            },
            'model failed; trying the next route',
          );
          if (candidate.route === 'local' && !candidate.lastResort) {
            override = shownByThis
              ? {
                  reason: 'local-error-mid-stream',
                  message: `The local model failed while answering (${attempt.error.message}); a teacher's answer replaced it.`,
                }
              : {
                  reason: 'local-error',
                  message: `The local model failed before answering (${attempt.error.message}); a teacher answered instead.`,
                };
          }
          if (candidate.route === 'teacher' && !isTeacherFallbackError(error))
            teachersStopped = attempt.error;
        } finally {
          if (open && iterator?.return) {
            try {
              await iterator.return();
            } catch {
              // The model is being abandoned; its clean-up errors change nothing.
            }
          }
        }
      }

      if (shownByAnyone) {
        // The answer began, but no model could finish it: end the stream cleanly and say so in the record.
        const last = failures.at(-1);
        const summary = last
          ? summarizeError(last.error)
          : { name: 'Error', message: 'no model could finish the answer' };
        decide({
          route: lastAttempt?.route ?? 'none',
          reason: lastAttempt?.reason ?? 'no-route',
          message: `The answer broke off (${summary.message}) and no other model could take over.`,
          provider: lastAttempt?.provider ?? '',
          modelId: lastAttempt?.modelId ?? '',
          name: lastAttempt?.name ?? '',
          finishReason: 'error',
          error: summary,
        });
        yield { type: 'finish', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } };
        return;
      }
      const error =
        failures.length > 0
          ? new NoRouteAnsweredError(failures)
          : new NoRouteError(
              `No configured model can take this request: ${skips.join('; ')}. ` +
                'Leave out what they cannot handle (tools or images), or configure a teacher that can.',
            );
      decide({
        route: 'none',
        reason: 'no-route',
        message: error.message,
        finishReason: 'error',
        error: summarizeError(error),
      });
      throw error;
    } finally {
      // The caller stopped reading before the answer ended.
      if (!published) decideAborted();
    }
  }
}

/**
 * Creates a {@link Router}.
 *
 * @example
 * ```ts
 * import { RoutingLearning, createRouter } from '@shammah/router';
 *
 * const learning = await RoutingLearning.open({ path: `${process.env.HOME}/.shammah/router.json`, logger });
 * const router = createRouter({ local: generator, teachers: [claude], learning, confidence: true, logger });
 * const { text, decision } = await router.generate({ messages: [{ role: 'user', content: 'Explain closures' }] });
 * console.log(decision.route, decision.reason, decision.message);
 * await router.close();
 * ```
 */
export function createRouter(settings: RouterSettings): Router {
  return new Router(settings);
}
