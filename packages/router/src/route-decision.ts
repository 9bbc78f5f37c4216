import type { ChatRequest, FinishReason, ToolCall, Usage } from '@shammah/provider';
import type { ConfidenceReading } from './confidence-check.js';
import type { CrisisSignal } from './crisis-detection.js';

/** Who answers: the local model, a cloud teacher, or the built-in safety answer. */
export type Route = 'local' | 'teacher' | 'builtin';

/**
 * Why a route was taken. Stable codes for metrics; {@link RouteDecision.message} says it in words.
 *
 * - `local-default`: the local model is ready, the request fits it and its category does well locally.
 * - `learning-probe`: the category goes to teachers, but this request gives the local model another chance.
 * - `no-teacher`: the local model answers although it otherwise would not (its category is escalated,
 *   or it is still loading and the router waits), because no teacher is configured.
 * - `forced-local` / `forced-teacher`: the user or client asked (`/local`, `/teacher`, `force`, `model: 'local'`).
 * - `requested-model`: the request's `model` named a teacher.
 * - `crisis`: the conversation shows signs of self-harm or danger to life; the strongest teacher answers.
 * - `crisis-offline`: the same, with no teacher reachable; a fixed, kind answer with crisis resources.
 * - `no-local-model`, `local-absent`, `local-downloading`, `local-loading`, `local-failed`: the local model cannot answer yet, or at all.
 * - `needs-tools`, `needs-vision`: the request needs what the local model lacks.
 * - `context-too-long`: the prompt and answer would not fit the local model's context.
 * - `learned-low-success`: the local model's answers in this category have been judged bad too often.
 * - `low-confidence`: the local answer's first tokens were too unlikely; a teacher answers instead.
 * - `local-error`: the local model failed before showing anything; a teacher answers instead.
 * - `local-error-mid-stream`: the local model failed while answering; a teacher's answer replaces it.
 * - `teachers-unavailable`: every teacher failed; the local model answers instead.
 * - `no-route`: nothing could answer (see the decision's `error`).
 */
export type RouteReason =
  | 'local-default'
  | 'learning-probe'
  | 'no-teacher'
  | 'forced-local'
  | 'forced-teacher'
  | 'requested-model'
  | 'crisis'
  | 'crisis-offline'
  | 'no-local-model'
  | 'local-absent'
  | 'local-downloading'
  | 'local-loading'
  | 'local-failed'
  | 'needs-tools'
  | 'needs-vision'
  | 'context-too-long'
  | 'learned-low-success'
  | 'low-confidence'
  | 'local-error'
  | 'local-error-mid-stream'
  | 'teachers-unavailable'
  | 'no-route';

/** Every {@link RouteReason}, for metrics that list them all. */
export const routeReasons: readonly RouteReason[] = [
  'local-default',
  'learning-probe',
  'no-teacher',
  'forced-local',
  'forced-teacher',
  'requested-model',
  'crisis',
  'crisis-offline',
  'no-local-model',
  'local-absent',
  'local-downloading',
  'local-loading',
  'local-failed',
  'needs-tools',
  'needs-vision',
  'context-too-long',
  'learned-low-success',
  'low-confidence',
  'local-error',
  'local-error-mid-stream',
  'teachers-unavailable',
  'no-route',
];

/** An error, reduced to what a log or a metric needs. */
export interface ErrorSummary {
  name: string;
  message: string;
  code?: string;
  /** An API error's kind (`rate-limit`, `auth`, …). */
  kind?: string;
  statusCode?: number;
}

/** One model the router tried for a request. */
export interface RouteAttempt {
  route: Route;
  provider: string;
  modelId: string;
  /** Display name (a teacher's configured name). */
  name: string;
  /** Why this model was tried. */
  reason: RouteReason;
  /**
   * `answered`; `failed` before showing anything; `failed-mid-stream`; `low-confidence` (abandoned
   * after the confidence check); `skipped` (lacks a capability the request needs, or an earlier
   * teacher's error would recur); `aborted` (the caller cancelled).
   */
  outcome: 'answered' | 'failed' | 'failed-mid-stream' | 'low-confidence' | 'skipped' | 'aborted';
  latencyMs: number;
  error?: ErrorSummary;
  confidence?: ConfidenceReading;
  usage?: Usage;
}

/**
 * The record of one routed request, for metrics, logs and training data. Teacher answers are the
 * best training examples for the local model, so the record carries the whole request and answer.
 * Crisis conversations are marked (`crisis`); leave them out of training data.
 */
export interface RouteDecision {
  /** Unique id; pass it to `router.feedback()`. */
  id: string;
  /** ISO time the request arrived. */
  startedAt: string;
  /** Who answered, or `none` when nothing could. */
  route: Route | 'none';
  reason: RouteReason;
  /** The reason in words, for `/debug` and logs. */
  message: string;
  /** The answering model's provider and id (as the model reported it), and display name. */
  provider: string;
  modelId: string;
  name: string;
  /** The request's category, as learning sees it. */
  category: string;
  crisis?: CrisisSignal;
  forced?: 'local' | 'teacher';
  /** The `model` the request named. */
  requestedModel?: string;
  /** True when the answer came from a model other than the first one tried. */
  fallback: boolean;
  /** Every model tried, in order; the last `answered` one gave the answer. */
  chain: RouteAttempt[];
  confidence?: ConfidenceReading;
  /** Prompt tokens, counted by the supplied counter or estimated, as the router saw them. */
  promptTokens: number;
  /** Tokens the answering model reported. */
  usage?: Usage;
  /** Estimated US dollars, when the answering teacher can price its usage. */
  costUsd?: number;
  latencyMs: number;
  timeToFirstTokenMs?: number;
  finishReason: FinishReason;
  /** Set when the request ended without an answer, or with a broken one. */
  error?: ErrorSummary;
  /** The request as the caller sent it (without its abort signal). */
  request: Omit<ChatRequest, 'signal'>;
  /** The answer the caller received. */
  answer: { text: string; toolCalls: ToolCall[] };
}

/** Turns any thrown value into an {@link ErrorSummary}. */
export function summarizeError(error: unknown): ErrorSummary {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as Error & { code?: unknown; kind?: unknown; statusCode?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof fields.code === 'string' ? { code: fields.code } : {}),
    ...(typeof fields.kind === 'string' ? { kind: fields.kind } : {}),
    ...(typeof fields.statusCode === 'number' ? { statusCode: fields.statusCode } : {}),
  };
}
