import type { ChatMessage, ToolCall } from '@shammah/provider';
import { type AskUser, createAskUserQuestionTool } from './ask-user-question-tool.js';
import type { PlanTracker } from './plan-tracker.js';
import { createPresentPlanTool, type ReviewPlan } from './present-plan-tool.js';
import type { AnyTool } from './tool.js';
import { canonicalToolName, normalizeToolName } from './tool-names.js';
import { createUpdatePlanTool } from './update-plan-tool.js';

/** The tools plan mode offers: reading and searching, fetching pages, asking, and presenting the plan. */
export const PLAN_MODE_TOOL_NAMES: readonly string[] = [
  'Read',
  'Glob',
  'Grep',
  'WebFetch',
  'AskUserQuestion',
  'PresentPlan',
];

/**
 * What plan mode adds to the system prompt. {@link addPlanModePrompt} appends it and
 * {@link removePlanModePrompt} takes it out again when the plan is approved.
 */
export const PLAN_MODE_PROMPT = [
  '# Plan mode',
  'You are in plan mode: research and plan, but change nothing. Do not edit or write files and do not run',
  'commands; you only have tools that read.',
  '1. Look up what you need with Read, Glob and Grep (and WebFetch for documentation).',
  '2. If only the user can decide something, ask with AskUserQuestion, offering a few choices.',
  '3. Then call PresentPlan with a numbered list of concrete steps: which files change and how, which',
  '   commands to run, and how to check the result.',
  'Do not carry the plan out: the user approves it first.',
].join('\n');

/** Options of {@link planModeTools}. */
export interface PlanModeToolsOptions {
  /** Also keep other tools of kind `read`, such as MCP tools their servers mark read-only (default false). */
  includeReadOnly?: boolean;
}

/**
 * The plan-mode subset of `tools`: Read, Glob, Grep, WebFetch, AskUserQuestion and PresentPlan (those
 * of them that are in `tools`, so include AskUserQuestion and PresentPlan there).
 *
 * @example
 * ```ts
 * const all = [...createCodingTools(), ...createConversationTools({ ask, review, tracker })];
 * const tools = planModeTools(all); // Read, Glob, Grep, WebFetch, AskUserQuestion, PresentPlan
 * ```
 */
export function planModeTools(tools: readonly AnyTool[], options: PlanModeToolsOptions = {}): AnyTool[] {
  const names = new Set(PLAN_MODE_TOOL_NAMES.map(normalizeToolName));
  return tools.filter(
    (tool) =>
      names.has(normalizeToolName(tool.name)) ||
      (options.includeReadOnly === true &&
        tool.kind === 'read' &&
        normalizeToolName(tool.name) !== 'updateplan'),
  );
}

/** The conversation with {@link PLAN_MODE_PROMPT} appended to its system message (one is added if there is none). */
export function addPlanModePrompt(messages: readonly ChatMessage[]): ChatMessage[] {
  const [first, ...rest] = messages;
  if (first?.role === 'system') {
    if (first.content.includes(PLAN_MODE_PROMPT)) return [...messages];
    return [{ role: 'system', content: `${first.content}\n\n${PLAN_MODE_PROMPT}` }, ...rest];
  }
  return [{ role: 'system', content: PLAN_MODE_PROMPT }, ...messages];
}

/** The conversation without {@link PLAN_MODE_PROMPT}, for carrying out an approved plan. */
export function removePlanModePrompt(messages: readonly ChatMessage[]): ChatMessage[] {
  const [first, ...rest] = messages;
  if (first?.role !== 'system' || !first.content.includes(PLAN_MODE_PROMPT)) return [...messages];
  const content = first.content.replace(`\n\n${PLAN_MODE_PROMPT}`, '').replace(PLAN_MODE_PROMPT, '').trim();
  return content === '' ? rest : [{ role: 'system', content }, ...rest];
}

const INTERACTIVE = new Set(['askuserquestion', 'presentplan']);

/**
 * Whether a call needs the user: AskUserQuestion and PresentPlan (by any name a model uses). A daemon
 * passes it as the tool loop's `executeRemotely`, so these calls go to its client and the loop
 * resumes with the answers (built with `formatUserAnswer` / `formatPlanReview`).
 */
export function isUserInteractionCall(call: Pick<ToolCall, 'name'>): boolean {
  const name = normalizeToolName(canonicalToolName(call.name));
  if (INTERACTIVE.has(name)) return true;
  return ['askuser', 'askquestion', 'exitplanmode', 'submitplan'].includes(name);
}

/** Options of {@link createConversationTools}. */
export interface ConversationToolsOptions {
  /** Asks the user a question (AskUserQuestion). */
  ask?: AskUser;
  /** Shows a plan for approval (PresentPlan). */
  review?: ReviewPlan;
  /** The plan being carried out (UpdatePlan updates it). */
  tracker?: PlanTracker;
}

/**
 * The conversation tools: AskUserQuestion, PresentPlan and UpdatePlan, wired to the host's callbacks.
 *
 * @example
 * ```ts
 * const tracker = new PlanTracker();
 * const tools = [...createCodingTools(), ...createConversationTools({ ask: askOnTerminal, review: reviewOnTerminal, tracker })];
 * ```
 */
export function createConversationTools(options: ConversationToolsOptions = {}): AnyTool[] {
  return [
    createAskUserQuestionTool(options.ask ? { ask: options.ask } : {}),
    createPresentPlanTool(options.review ? { review: options.review } : {}),
    createUpdatePlanTool(options.tracker ? { tracker: options.tracker } : {}),
  ];
}
