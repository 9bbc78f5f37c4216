export type { AdapterManifest } from './adapter-manifest.js';
export { ADAPTER_MANIFEST_FORMAT } from './adapter-manifest.js';
export type {
  ActivePointer,
  AdapterInfo,
  AdapterStoreOptions,
  BaseModelRef,
  ResolvedModel,
} from './adapter-store.js';
export { AdapterStore, createAdapterStore } from './adapter-store.js';
export type { LockHolder } from './errors.js';
export {
  AdapterActiveError,
  AdapterNotFoundError,
  CorruptAdapterError,
  ExampleTooLargeError,
  InvalidExampleError,
  LockBusyError,
  NoExamplesError,
  TrainerFailedError,
  TrainerNotFoundError,
  TrainingCancelledError,
  TrainingInProgressError,
} from './errors.js';
export type { FileLockOptions } from './file-lock.js';
export { FileLock } from './file-lock.js';
export { decodeExampleLine, encodeExampleLine, QUEUE_FORMAT_VERSION } from './queue-format.js';
export type { TeacherAnswerRecord, TeacherLearnerOptions } from './teacher-examples.js';
export { createTeacherLearner, exampleFromTeacherAnswer } from './teacher-examples.js';
export type { TrainerCommand } from './trainer-location.js';
export { locateTrainer } from './trainer-location.js';
export type { RunTrainerOptions, TrainerEvent, TrainerProcess, TrainingPhase } from './trainer-process.js';
export { parseTrainerLine, runTrainer, TRAINER_EXIT_CANCELLED, TRAINER_PROTOCOL } from './trainer-process.js';
export type {
  BaseModel,
  LoraSettings,
  PendingExamples,
  TrainingCoordinatorOptions,
  TrainingHyperparameters,
  TrainingPolicy,
  TrainingStatus,
  TrainOptions,
} from './training-coordinator.js';
export { createTrainingCoordinator, TrainingCoordinator } from './training-coordinator.js';
export type {
  CompactOptions,
  CompactResult,
  QueueContents,
  SkippedLine,
  TrainingQueueOptions,
} from './training-queue.js';
export { createTrainingQueue, MAX_LINE_BYTES, TrainingQueue } from './training-queue.js';
export type { TrainingEvent, TrainingReason, TrainingResult } from './training-run.js';
export { TrainingRun } from './training-run.js';
export type { ExampleSource, FeedbackLevel, NewExample, WeightedExample } from './weighted-example.js';
export {
  createExample,
  FEEDBACK_WEIGHTS,
  feedbackLevel,
  lastUserText,
  weightFor,
} from './weighted-example.js';
