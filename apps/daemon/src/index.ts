export type { ChatRun, RouteInfo, RunContext, ServedModelInfo } from './chat-service.js';
export { ChatService, TEACHER_MODEL_NAME } from './chat-service.js';
export { confidenceFromThreshold } from './confidence-threshold.js';
export type { Daemon, DaemonAddress, DaemonEnv, DaemonOptions, HealthReport } from './daemon.js';
export { createDaemon, DEFAULT_HOST, DEFAULT_PORT } from './daemon.js';
export { DaemonMetrics } from './daemon-metrics.js';
export type { DaemonFlags } from './daemon-settings.js';
export { DEFAULT_LOCAL_MODEL, daemonSettings, parseBindAddress } from './daemon-settings.js';
export type { DaemonTraining, LearningRouter } from './daemon-training.js';
export { asLearningRouter } from './daemon-training.js';
export {
  AuthenticationError,
  DaemonAlreadyRunningError,
  DaemonConfigError,
  DaemonStartError,
  DaemonStopError,
  InvalidJsonError,
  InvalidRequestError,
  NoTeacherError,
  NotFoundError,
  PayloadTooLargeError,
  QueueFullError,
  ServerToolsDisabledError,
  ShuttingDownError,
  UnknownModelError,
  UnsupportedContentError,
  UnsupportedMediaTypeError,
} from './errors.js';
export { feedbackRequestSchema, feedbackResponseSchema } from './feedback-endpoint.js';
export type { ErrorProtocol, HttpError } from './http-errors.js';
export { errorBody, toHttpError } from './http-errors.js';
export type {
  DaemonPaths,
  DaemonStatus,
  LogSource,
  RunDaemonOptions,
  RunningDaemon,
  StartDaemonOptions,
  StartedDaemon,
  StopResult,
} from './lifecycle.js';
export {
  daemonBinPath,
  daemonPaths,
  daemonStatus,
  followDaemonLog,
  readDaemonLog,
  restartDaemon,
  runDaemon,
  startDaemon,
  stopDaemon,
} from './lifecycle.js';
export type { DaemonRequestOptions, LocalChatModel, LocalModelStatus } from './local-chat-model.js';
export type { LocalModelOptions, PrefixCacheSizing } from './local-model.js';
export {
  createLocalModel,
  defaultKvCacheMemory,
  kvBytesPerToken,
  prefixCacheSizeFor,
} from './local-model.js';
export { openApiDocument } from './openapi-document.js';
export type { PidFileContent } from './pid-file.js';
export { isDaemonProcess, readPidFile } from './pid-file.js';
export { QueuedChatModel } from './queued-chat-model.js';
export type { FairRequestQueueOptions } from './request-queue.js';
export { FairRequestQueue } from './request-queue.js';
export { RouterMetrics } from './router-metrics.js';
export type { ServedModel, ServedModelOptions } from './served-model.js';
export { resolveServedModel } from './served-model.js';
export type { ServerToolsMode, ServerToolsModelOptions } from './server-tools.js';
export {
  DEFAULT_SERVER_TOOL_TURNS,
  SERVER_TOOLS_FIELD,
  SERVER_TOOLS_HEADER,
  ServerToolsModel,
  serverPermissionAnswer,
  serverToolsRequested,
} from './server-tools.js';
export type { SessionInfo, SessionStoreOptions } from './session-store.js';
export { SessionStore } from './session-store.js';
export { statusSchema } from './status-endpoint.js';
export { TextToolCallModel } from './text-tool-call-model.js';
export { trainingStatusSchema } from './training-status-endpoint.js';
