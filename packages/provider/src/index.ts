export type {
  AssistantMessage,
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatResult,
  ChatStreamPart,
  FinishReason,
  ImagePart,
  JsonSchema,
  ModelCapabilities,
  RouteStreamPart,
  SystemMessage,
  TextPart,
  Timings,
  TokenLogprob,
  ToolCall,
  ToolCallPart,
  ToolChoice,
  ToolDefinition,
  ToolMessage,
  ToolResultPart,
  Usage,
  UserMessage,
} from './chat-model.js';
export { collectStream, contentText } from './collect-stream.js';
export type { ApiCallErrorOptions, ApiErrorKind, ShammahErrorOptions } from './errors.js';
export { ApiCallError, ContextLengthError, ShammahError } from './errors.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
