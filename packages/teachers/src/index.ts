export { AnthropicTeacher, createAnthropicTeacher } from './anthropic-teacher.js';
export type { FailedCall } from './api-error.js';
export { readErrorBody, redact, toApiCallError } from './api-error.js';
export type { CreateTeacherOptions, TeacherConfig } from './create-teacher.js';
export { createTeacher, createTeacherChain, resolveProvider } from './create-teacher.js';
export type { TeacherFailure } from './errors.js';
export { AllTeachersFailedError, isApiCallError, MissingApiKeyError, TeacherConfigError } from './errors.js';
export { createGeminiTeacher, GeminiTeacher } from './gemini-teacher.js';
export type { ModelInfo, ModelPrice, TeacherProvider } from './model-catalog.js';
export {
  capabilitiesFor,
  defaultCapabilities,
  defaultModels,
  findModel,
  knownModels,
} from './model-catalog.js';
export type { OpenAIChatProfile } from './openai-chat-teacher.js';
export { OpenAIChatTeacher } from './openai-chat-teacher.js';
export type { OpenAICompatibleSettings } from './openai-compatible-teachers.js';
export {
  createGroqTeacher,
  createMistralTeacher,
  createOpenAICompatibleTeacher,
  createOpenAITeacher,
  createXaiTeacher,
} from './openai-compatible-teachers.js';
export type { PriceTable, UsageTotals } from './pricing.js';
export { CostTracker, costOf, priceFor } from './pricing.js';
export type { HeaderSource, RetryPolicy } from './retry.js';
export { defaultRetryPolicy, parseRetryAfter } from './retry.js';
export type { Teacher } from './teacher.js';
export type { TeacherChainOptions, TeacherChainResult } from './teacher-chain.js';
export { isFallbackError, TeacherChain } from './teacher-chain.js';
export type { TeacherSettings } from './teacher-settings.js';
