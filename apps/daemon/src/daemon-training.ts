import type { ResolvedModel, TrainingCoordinator } from '@shammah/lora';
import type { ChatModel } from '@shammah/provider';
import type { Router } from '@shammah/router';

/**
 * How the daemon takes part in LoRA learning (`@shammah/lora`): where `POST /v1/feedback` and teacher
 * answers go (the coordinator's training queue, the same `training_queue.jsonl` the CLI's `/feedback`
 * writes), what `GET /v1/training/status` reports, and which model directory the daemon serves.
 */
export interface DaemonTraining {
  /** The training queue and adapter store, and automatic training when `[lora] auto_train` is on. */
  coordinator: TrainingCoordinator;
  /** Queue usable teacher answers as examples (`[lora] learn_from_teachers`). Default false. */
  learnFromTeachers?: boolean;
  /** The local model directory the daemon loaded: the base model or the active adapter, and why. */
  servedModel?: ResolvedModel;
}

/** The parts of `@shammah/router`'s `Router` the daemon uses beyond answering: learning and records. */
export type LearningRouter = ChatModel & Pick<Router, 'feedback' | 'snapshot' | 'onDecision'>;

/** The model as a learning router, when it is one (the daemon's `route` returned `createRouter(…)`). */
export function asLearningRouter(model: ChatModel): LearningRouter | undefined {
  const candidate = model as Partial<LearningRouter>;
  return typeof candidate.feedback === 'function' &&
    typeof candidate.snapshot === 'function' &&
    typeof candidate.onDecision === 'function'
    ? (model as LearningRouter)
    : undefined;
}
