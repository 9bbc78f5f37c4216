/**
 * The steps of a plan written as a list: the items of its numbered list (`1. …`, `2) …`, `Step 3: …`),
 * or of its bullet list when it has no numbers; continuation lines are joined to their step, code
 * blocks are skipped and `**bold**` markers dropped. Empty when the text has no list.
 *
 * @example
 * ```ts
 * parsePlanSteps('Plan:\n1. Read the config\n2. Add the flag\n   and its test'); // ['Read the config', 'Add the flag and its test']
 * ```
 */
export function parsePlanSteps(text: string): string[] {
  const numbered = listItems(text, /^\s{0,3}(?:step\s+)?\d+[.):]\s+(.+)$/i);
  if (numbered.length > 0) return numbered;
  return listItems(text, /^\s{0,3}(?:[-*+]|\[[ x]\])\s+(?:\[[ xX]\]\s+)?(.+)$/);
}

function listItems(text: string, item: RegExp): string[] {
  const steps: string[] = [];
  let inFence = false;
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const match = item.exec(line);
    if (match) {
      if (current !== undefined) steps.push(current);
      current = match[1]!.trim();
      continue;
    }
    if (current !== undefined && /^\s{2,}\S/.test(line) && !/^\s*([-*+]|\d+[.)])\s/.test(line)) {
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

/** A plan as numbered lines, the form the user edits and the model reads. */
export function formatPlanSteps(steps: readonly string[]): string {
  return steps.map((step, index) => `${index + 1}. ${step}`).join('\n');
}
