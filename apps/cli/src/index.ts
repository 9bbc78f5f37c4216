export type {
  AnswerFeedback,
  Backend,
  BackendStatus,
  DecisionSummary,
  ModelEntry,
  RouteControls,
} from './backend/backend.js';
export type { CliArguments } from './cli-arguments.js';
export { parseCliArguments, USAGE, UsageError } from './cli-arguments.js';
export type { OneShotOptions, OneShotResult } from './one-shot.js';
export { answerOnce } from './one-shot.js';
export type { Runtime, RuntimeOptions } from './runtime.js';
export { createRuntime } from './runtime.js';
