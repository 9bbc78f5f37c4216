export type { Decoder, DecoderCache } from './decoder.js';
export type { GraphLayout } from './decoder-session.js';
export { DecoderSession, detectLayout } from './decoder-session.js';
export {
  CorruptModelError,
  DownloadError,
  ModelNotFoundError,
  ModelNotReadyError,
  OutOfMemoryError,
  UnsupportedModelError,
} from './errors.js';
export type { GenerationOptions, SamplingPlan } from './generation-options.js';
export { planSampling } from './generation-options.js';
export type { GeneratorOptions, GeneratorStatus, TokenEvent } from './generator.js';
export { Generator } from './generator.js';
export type { DownloadOptions, DownloadProgress } from './hub-download.js';
export { downloadModel, selectFiles } from './hub-download.js';
export type { KvLayout } from './kv-cache.js';
export { KvCache, SharedKvCache } from './kv-cache.js';
export type { GenerationState, LogitsProcessor } from './logits-processors.js';
export {
  frequencyPresencePenalty,
  repetitionPenalty,
  suppressTokens,
  temperatureScaling,
} from './logits-processors.js';
export type { CachedModel } from './model-cache.js';
export {
  defaultCacheDir,
  isRepoId,
  listCachedModels,
  removeCachedModel,
  repoFolderName,
  snapshotDir,
} from './model-cache.js';
export type { ModelFamily } from './model-family.js';
export { familyOf, MODEL_FAMILIES, supportedModelTypes } from './model-family.js';
export type { GenerationConfig, ModelConfig, ModelFiles } from './model-files.js';
export { chooseVariant, readModelFiles, VARIANT_FILES } from './model-files.js';
export type { ModelChoice } from './model-selection.js';
export { MODEL_LADDER, recommendModel } from './model-selection.js';
export type { ExecutionProvider } from './onnx-runtime.js';
export { availableExecutionProviders } from './onnx-runtime.js';
export type { SamplerOptions } from './sampler.js';
export { argmax, logSoftmaxAt, SeededRandom, sample } from './sampler.js';
export { TextStreamer } from './text-streamer.js';
export type { ThreadedDecoderOptions } from './threaded-decoder.js';
export { ThreadedDecoder } from './threaded-decoder.js';
export { ChatTokenizer, toTemplateMessages } from './tokenizer.js';
export { WorkerGenerator } from './worker-generator.js';
export type { WorkerGeneratorInit } from './worker-protocol.js';
