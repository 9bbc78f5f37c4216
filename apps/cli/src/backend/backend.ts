import type { ChatModel } from '@shammah/provider';
import type { FeedbackRating } from '../session/training-queue.js';

/** How the user steers routing: `/local`, `/teacher`, `/model`. */
export interface RouteControls {
  force?: 'local' | 'teacher';
  /** `auto`, `local`, `teacher`, or a teacher's name or model id. */
  model?: string;
  /** Called once the request is over with how it was routed. */
  onDecision?: (decision: DecisionSummary) => void;
}

/** What the CLI shows of one routed request. */
export interface DecisionSummary {
  /** Pass to feedback; absent when the backend has no ids. */
  id?: string;
  route: string;
  reason: string;
  name: string;
  modelId: string;
  costUsd?: number;
  latencyMs?: number;
}

/** The local model's state, for the status bar. */
export interface LocalModelView {
  modelId: string;
  state: 'absent' | 'downloading' | 'loading' | 'ready' | 'failed';
  progress?: number;
  reason?: string;
}

/** The daemon's state, for the status bar and `/status`. */
export interface DaemonView {
  state: 'running' | 'starting' | 'stopped' | 'unreachable' | 'not-used';
  address?: string;
  pid?: number;
  detail?: string;
}

/** Everything the status bar and `/status` show about the backend. */
export interface BackendStatus {
  mode: 'daemon' | 'in-process';
  daemon: DaemonView;
  local?: LocalModelView;
  teachers: Array<{ name: string; modelId: string }>;
  /** Whether the local model is offered tools (small models answer without them). */
  localTools: boolean;
}

/** One entry of `/model`. */
export interface ModelEntry {
  /** What `/model <name>` takes. */
  name: string;
  kind: 'auto' | 'local' | 'teacher' | 'cached';
  detail: string;
}

/** Feedback on one answer. */
export interface AnswerFeedback {
  decisionId?: string;
  query: string;
  answer: string;
  rating: FeedbackRating;
  correction?: string;
}

/**
 * Where answers come from: the daemon (over HTTP) or the router in this process. The REPL and the
 * one-shot mode use only this interface.
 */
export interface Backend {
  readonly mode: 'daemon' | 'in-process';
  /** A chat model for one request, routed as `controls` say. */
  model(controls?: RouteControls): ChatModel;
  status(): BackendStatus;
  /** Waits until the local model is loaded (or failed); teachers need no wait. */
  ready(): Promise<void>;
  /** Tells the router how an answer was judged (learning). The training queue is written by the caller. */
  feedback(feedback: AnswerFeedback): Promise<void>;
  models(): Promise<ModelEntry[]>;
  /** Loads another cached local model in place of the current one. */
  switchLocalModel(modelId: string): Promise<void>;
  close(): Promise<void>;
}
