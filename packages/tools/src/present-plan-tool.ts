import { z } from 'zod';
import { ToolError } from './errors.js';
import { formatPlanSteps, parsePlanSteps } from './plan-text.js';
import { defineTool, type Tool } from './tool.js';
import { ToolSet } from './tool-set.js';

/** A plan the model presents for approval. */
export interface PresentedPlan {
  /** The plan as the model wrote it (markdown with a numbered list). */
  text: string;
  /** Its numbered steps. */
  steps: string[];
}

/** The user's verdict on a plan. */
export type PlanReview =
  | { decision: 'approve' }
  /** Approved as the user rewrote it. */
  | { decision: 'edit'; plan: string }
  | { decision: 'reject'; feedback: string };

/** Shows the plan to the user and returns their verdict (the CLI asks; the daemon asks its client). */
export type ReviewPlan = (plan: PresentedPlan, context: { signal: AbortSignal }) => Promise<PlanReview>;

/** What PresentPlan returns to the UI. */
export interface PresentPlanData {
  decision: PlanReview['decision'];
  /** The plan in force: the model's, or the user's edit. */
  plan: string;
  steps: string[];
  feedback?: string;
}

/** Options of {@link createPresentPlanTool}. */
export interface PresentPlanToolOptions {
  /** Asks the user. Without it the tool reports that no one can approve (pass-through hosts run it remotely). */
  review?: ReviewPlan;
}

const inputSchema = z.object({
  plan: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe('The plan as a numbered markdown list, one concrete step per item: "1. …\\n2. …".'),
});

type PresentPlanInput = z.output<typeof inputSchema>;

function planOf(input: PresentPlanInput): PresentedPlan {
  const text = Array.isArray(input.plan) ? formatPlanSteps(input.plan) : input.plan.trim();
  return {
    text,
    steps: Array.isArray(input.plan) ? input.plan.map((step) => step.trim()) : parsePlanSteps(text),
  };
}

/**
 * The text the model reads for the user's verdict, and whether it ends the loop. Hosts that ask
 * remotely (the daemon's pass-through) send `text` back as the call's result; after an approval
 * they resume with every tool and without the plan-mode prompt.
 */
export function formatPlanReview(
  plan: PresentedPlan,
  review: PlanReview,
): { text: string; data: PresentPlanData } {
  switch (review.decision) {
    case 'approve':
      return {
        text:
          'The user approved the plan. Plan mode is over: carry out the plan now, one step at a time, with ' +
          'all your tools, and mark each step with UpdatePlan as you go.',
        data: { decision: 'approve', plan: plan.text, steps: plan.steps },
      };
    case 'edit': {
      const steps = parsePlanSteps(review.plan);
      const edited = steps.length > 0 ? formatPlanSteps(steps) : review.plan.trim();
      return {
        text:
          `The user edited the plan and approved this version:\n${edited}\n\n` +
          'Plan mode is over: carry out this version now, one step at a time, with all your tools, and mark ' +
          'each step with UpdatePlan as you go.',
        data: { decision: 'edit', plan: edited, steps: steps.length > 0 ? steps : [review.plan.trim()] },
      };
    }
    default:
      return {
        text:
          `The user rejected the plan. Their feedback: ${review.feedback.trim() || '(none given)'}\n` +
          'Stay in plan mode: change nothing, look into what the feedback raises, and present a revised plan ' +
          'with PresentPlan.',
        data: { decision: 'reject', plan: plan.text, steps: plan.steps, feedback: review.feedback },
      };
  }
}

/**
 * PresentPlan, the original Shammah's plan-mode tool: the model presents a numbered plan and the
 * user approves it, edits it or rejects it with feedback. Approval (or an edit) ends the tool loop
 * with `plan-approved`, so the host leaves plan mode and runs the plan with every tool; a rejection
 * goes back to the model, still in plan mode. Alias: Claude Code's `ExitPlanMode`.
 */
export function createPresentPlanTool(
  options: PresentPlanToolOptions = {},
): Tool<PresentPlanInput, PresentPlanData> {
  return defineTool({
    name: 'PresentPlan',
    aliases: ['present_plan', 'ExitPlanMode', 'submit_plan'],
    description:
      'In plan mode, when your research is done: present your plan to the user for approval, as a numbered ' +
      'list of concrete steps. Do not change anything before the user approves it.',
    inputSchema,
    inputAliases: { steps: 'plan', text: 'plan' },
    kind: 'read',
    permissionTarget: () => ({ type: 'none' }),
    async execute(input, context) {
      const plan = planOf(input);
      if (plan.steps.length === 0) {
        throw new ToolError(
          'plan_without_steps',
          'The plan has no numbered steps. Write it as a numbered list ("1. …", "2. …") and call PresentPlan again.',
        );
      }
      if (!options.review) {
        throw new ToolError(
          'user_unavailable',
          'No one can approve a plan in this session. Describe the plan in your answer instead.',
        );
      }
      const review = await options.review(plan, { signal: context.signal });
      const { text, data } = formatPlanReview(plan, review);
      return {
        text,
        data,
        ...(review.decision === 'reject' ? {} : { endLoop: 'plan-approved' as const }),
      };
    },
  });
}

/** The plan in a PresentPlan call, read as the tool reads it, for hosts that ask remotely. */
export function readPresentedPlan(input: unknown): PresentedPlan {
  const tool = createPresentPlanTool();
  return planOf(new ToolSet([tool]).parseInput(tool, input) as PresentPlanInput);
}
