import type { AnyTool } from '@shammah/tools';

/** Added to the system prompt in plan mode. */
export const PLAN_MODE_PROMPT = [
  'You are in plan mode. Do not change anything: no edits, no writes, no commands that modify files.',
  'First research what you need with the read-only tools (Read, Glob, Grep, WebFetch);',
  'if only the user can decide something, ask with AskUserQuestion.',
  'Then present a short plan as a numbered list, one concrete action per step ("1. …", "2. …"):',
  'with the PresentPlan tool when you have it, else as your answer.',
  'Do not carry the plan out: the user approves it first.',
].join(' ');

/** Tools plan mode may use: those that only read. */
export function readOnlyTools(tools: readonly AnyTool[]): AnyTool[] {
  return tools.filter((tool) => tool.kind === 'read' || tool.kind === 'network');
}

/**
 * The steps of a plan: the items of the answer's numbered list (continuation lines are joined to
 * their step). Returns an empty list when the answer has no numbered list.
 */
export function parsePlan(text: string): string[] {
  const steps: string[] = [];
  let inFence = false;
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const item = /^\s{0,3}(?:step\s+)?(\d+)[.):]\s+(.+)$/i.exec(line);
    if (item) {
      if (current !== undefined) steps.push(current);
      current = item[2]!.trim();
      continue;
    }
    if (current !== undefined && /^\s{2,}\S/.test(line) && !/^\s*[-*+]\s/.test(line)) {
      current += ` ${line.trim()}`;
      continue;
    }
    if (current !== undefined && line.trim() !== '') {
      steps.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) steps.push(current);
  return steps.map((step) => step.replace(/\*\*/g, '').trim()).filter((step) => step !== '');
}

/** The plan as text the user can edit: one numbered line per step. */
export function formatPlan(steps: readonly string[]): string {
  return steps.map((step, index) => `${index + 1}. ${step}`).join('\n');
}

/** The message that asks the model to carry out one step of an approved plan. */
export function stepPrompt(steps: readonly string[], index: number): string {
  return [
    `The user approved this plan:\n${formatPlan(steps)}`,
    '',
    `Now carry out step ${index + 1} only: ${steps[index]}`,
    'Use the tools you need. When the step is done, say in one or two sentences what you did.',
  ].join('\n');
}
