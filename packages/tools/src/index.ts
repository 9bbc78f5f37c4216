export type {
  AskUser,
  AskUserQuestionData,
  AskUserQuestionToolOptions,
  UserQuestion,
  UserQuestionAnswer,
  UserQuestionOption,
} from './ask-user-question-tool.js';
export {
  createAskUserQuestionTool,
  formatUserAnswer,
  readUserAnswer,
  readUserQuestion,
} from './ask-user-question-tool.js';
export { writeFileAtomic } from './atomic-write.js';
export type { BashToolData, BashToolOptions } from './bash-tool.js';
export { createBashTool } from './bash-tool.js';
export type { CodingToolsOptions } from './coding-tools.js';
export { createCodingTools } from './coding-tools.js';
export type { SplitCommand } from './command-pattern.js';
export { commandPatternMatches, splitShellCommand, suggestCommandPattern } from './command-pattern.js';
export type {
  CompactionRequest,
  ConversationCompaction,
  ConversationCompactor,
} from './conversation-compactor.js';
export type { EditToolData } from './edit-tool.js';
export { createEditTool } from './edit-tool.js';
export {
  EditMatchError,
  FileAccessError,
  PermissionDeniedError,
  PermissionRulesError,
  RestartUnavailableError,
  ToolAbortedError,
  ToolError,
  ToolInputError,
  throwIfToolAborted,
  UnknownToolError,
  WebFetchError,
} from './errors.js';
export type { GlobToolData, GlobToolOptions } from './glob-tool.js';
export { createGlobTool } from './glob-tool.js';
export type { GrepBackend, GrepFileResult, GrepLine, GrepQuery, GrepSearchResult } from './grep-backend.js';
export type { GrepToolData, GrepToolOptions } from './grep-tool.js';
export { createGrepTool, resolveGrepBackend } from './grep-tool.js';
export type { HtmlToMarkdownResult } from './html-to-markdown.js';
export { htmlToMarkdown } from './html-to-markdown.js';
export { createJavaScriptGrepBackend } from './javascript-grep-backend.js';
export type { McpServerEntryOptions, McpServerListing, McpTransportKind } from './mcp-config.js';
export {
  addMcpServer,
  createMcpServerEntry,
  listMcpServers,
  removeMcpServer,
  resolveMcpTransport,
  setMcpServerEnabled,
  validateMcpServerEntry,
  validateMcpServerName,
} from './mcp-config.js';
export { McpConfigError, McpToolCallError } from './mcp-errors.js';
export type {
  McpManagerOptions,
  McpServerState,
  McpServerStatus,
  McpToolInfo,
} from './mcp-manager.js';
export { createMcpManager, McpManager } from './mcp-manager.js';
export type { McpToolData, McpToolOptions } from './mcp-tool.js';
export { createMcpTool, mcpResultText, mcpToolName } from './mcp-tool.js';
export type {
  PermissionAnswer,
  PermissionAsk,
  PermissionDecision,
  PermissionEvaluation,
  PermissionPolicy,
  PermissionPolicyOptions,
  PermissionPrompt,
  PermissionRequest,
} from './permission-policy.js';
export { createPermissionPolicy } from './permission-policy.js';
export type { PermissionAction, PermissionRule } from './permission-rule.js';
export { formatPermissionRule, parsePermissionRule } from './permission-rule.js';
export { appendPermissionRules, readPermissionRules } from './permission-rules-file.js';
export type { ConversationToolsOptions, PlanModeToolsOptions } from './plan-mode.js';
export {
  addPlanModePrompt,
  createConversationTools,
  isUserInteractionCall,
  PLAN_MODE_PROMPT,
  PLAN_MODE_TOOL_NAMES,
  planModeTools,
  removePlanModePrompt,
} from './plan-mode.js';
export { formatPlanSteps, parsePlanSteps } from './plan-text.js';
export type { PlanStep, PlanStepStatus } from './plan-tracker.js';
export { PlanTracker } from './plan-tracker.js';
export type {
  PlanReview,
  PresentedPlan,
  PresentPlanData,
  PresentPlanToolOptions,
  ReviewPlan,
} from './present-plan-tool.js';
export { createPresentPlanTool, formatPlanReview, readPresentedPlan } from './present-plan-tool.js';
export { createAddressFilter, isPrivateAddress } from './private-address.js';
export type { ReadToolData, ReadToolOptions } from './read-tool.js';
export { createReadTool } from './read-tool.js';
export { isInsideDirectory, resolvePhysicalPath } from './resolve-path.js';
export type { RestartToolData } from './restart-tool.js';
export { createRestartTool } from './restart-tool.js';
export type { RipgrepLookup } from './ripgrep-backend.js';
export { createRipgrepBackend, findRipgrep, ripgrepFromEnvironment } from './ripgrep-backend.js';
export type { RunToolCallOptions, ToolCallOutcome } from './run-tool-call.js';
export { DEFAULT_MAX_OUTPUT_CHARS, runToolCall } from './run-tool-call.js';
export type { ToolSystemPromptOptions } from './system-prompt.js';
export { buildToolSystemPrompt } from './system-prompt.js';
export type {
  AnyTool,
  PermissionTarget,
  RestartRequest,
  Tool,
  ToolContext,
  ToolKind,
  ToolOutputChunk,
  ToolResult,
} from './tool.js';
export { defineTool } from './tool.js';
export type {
  ParsedModelText,
  ParsedToolCall,
  ToolCallParseIssue,
  ToolCallParserEvent,
  ToolCallParserOptions,
  ToolCallTextFormat,
} from './tool-call-parser.js';
export { IncrementalToolCallParser, parseLooseJson, parseToolCalls } from './tool-call-parser.js';
export type {
  ExtractedPart,
  TextToolCallsOptions,
  ToolCallExtractor,
  ToolCallStrategy,
} from './tool-call-strategy.js';
export { nativeToolCalls, textToolCalls } from './tool-call-strategy.js';
export type {
  RemoteToolResult,
  ToolLoopDoneReason,
  ToolLoopEvent,
  ToolLoopOptions,
  ToolLoopState,
} from './tool-loop.js';
export { runToolLoop } from './tool-loop.js';
export { canonicalToolName } from './tool-names.js';
export { ToolSet } from './tool-set.js';
export type { TruncatedText, TruncateOptions, TruncationMode } from './truncate.js';
export { truncateText } from './truncate.js';
export type { UpdatePlanData, UpdatePlanToolOptions } from './update-plan-tool.js';
export { createUpdatePlanTool } from './update-plan-tool.js';
export type { WalkedFile, WalkFilesOptions } from './walk-files.js';
export { walkFiles } from './walk-files.js';
export type { WebFetchToolData, WebFetchToolOptions } from './web-fetch-tool.js';
export { createWebFetchTool } from './web-fetch-tool.js';
export type { WriteToolData } from './write-tool.js';
export { createWriteTool } from './write-tool.js';
