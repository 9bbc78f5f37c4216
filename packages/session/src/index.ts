export type {
  CompactConversationOptions,
  CompactConversationResult,
  CompactorOptions,
} from './compaction.js';
export {
  COMPACTION_SUMMARY_HEADER,
  compactConversation,
  createCompactor,
  isCompactionSummary,
} from './compaction.js';
export {
  AmbiguousSessionIdError,
  InstructionFileError,
  SessionCorruptError,
  SessionNotFoundError,
} from './errors.js';
export type {
  InstructionFile,
  InstructionOptions,
  InstructionScope,
  InstructionSource,
  ProjectInstructions,
} from './project-instructions.js';
export {
  appendInstruction,
  findProjectRoot,
  instructionFiles,
  loadProjectInstructions,
  readInstructionFile,
  writeInstructionFile,
} from './project-instructions.js';
export type { SessionListing, SessionRecord, SessionStoreOptions, SessionSummary } from './session-store.js';
export { createSessionStore, Session, SessionStore, sessionTitle } from './session-store.js';
export type { TokenCounter } from './token-count.js';
export { countMessageTokens, estimateTokens, messageText } from './token-count.js';
