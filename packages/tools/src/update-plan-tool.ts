import { z } from 'zod';
import { ToolError } from './errors.js';
import { type PlanStep, type PlanStepStatus, PlanTracker } from './plan-tracker.js';
import { defineTool, type Tool } from './tool.js';

/** What UpdatePlan returns to the UI: the whole plan after the update. */
export interface UpdatePlanData {
  steps: PlanStep[];
}

/** Options of {@link createUpdatePlanTool}. */
export interface UpdatePlanToolOptions {
  /** The plan being carried out; the tool updates it (and steps may then be named by number). */
  tracker?: PlanTracker;
}

const STATUS_WORDS: Record<string, PlanStepStatus> = {
  pending: 'pending',
  todo: 'pending',
  'not started': 'pending',
  in_progress: 'in_progress',
  'in-progress': 'in_progress',
  'in progress': 'in_progress',
  inprogress: 'in_progress',
  doing: 'in_progress',
  started: 'in_progress',
  active: 'in_progress',
  done: 'done',
  completed: 'done',
  complete: 'done',
  finished: 'done',
  failed: 'failed',
  error: 'failed',
  blocked: 'failed',
  skipped: 'failed',
};

const status = z.preprocess(
  (value) => (typeof value === 'string' ? (STATUS_WORDS[value.trim().toLowerCase()] ?? value) : value),
  z.enum(['pending', 'in_progress', 'done', 'failed']),
);

const step = z.preprocess(
  (value) => {
    if (typeof value !== 'object' || value === null) return value;
    const record = value as Record<string, unknown>;
    return {
      step: record.step ?? record.content ?? record.text ?? record.title ?? record.description,
      status: record.status ?? record.state,
      ...(record.note !== undefined ? { note: record.note } : {}),
    };
  },
  z.object({
    step: z.union([z.string().min(1), z.number().int().positive()]),
    status,
    note: z.string().optional(),
  }),
);

const inputSchema = z.object({
  steps: z.array(step).min(1),
});

type UpdatePlanInput = z.output<typeof inputSchema>;

/**
 * UpdatePlan, the model's to-do list while it carries out a plan: it sends the steps with their
 * status, and the host's {@link PlanTracker} shows the progress. Its kind is `read` (it changes
 * nothing outside the session), so it runs without a permission prompt.
 */
export function createUpdatePlanTool(
  options: UpdatePlanToolOptions = {},
): Tool<UpdatePlanInput, UpdatePlanData> {
  return defineTool({
    name: 'UpdatePlan',
    aliases: ['update_plan', 'TodoWrite', 'update_todos'],
    description:
      'Record progress on the plan: send its steps with their status (pending, in_progress, done, failed). ' +
      'Mark a step in_progress when you start it and done when it is finished; keep one step in progress at a time.',
    inputSchema,
    // The zod schema forgives the shapes small models write; the model is shown the intended one.
    inputJsonSchema: {
      type: 'object',
      properties: {
        steps: {
          type: 'array',
          minItems: 1,
          description:
            "The plan's steps with their status. Send the whole list; a step may be given by its number when only its status changes.",
          items: {
            type: 'object',
            properties: {
              step: { type: ['string', 'integer'], description: "The step's text, or its number (1-based)." },
              status: { type: 'string', enum: ['pending', 'in_progress', 'done', 'failed'] },
              note: { type: 'string', description: 'Optional: why it failed, or what you found.' },
            },
            required: ['step', 'status'],
          },
        },
      },
      required: ['steps'],
    },
    inputAliases: { plan: 'steps', todos: 'steps', items: 'steps' },
    kind: 'read',
    permissionTarget: () => ({ type: 'none' }),
    async execute(input) {
      const known = options.tracker?.steps ?? [];
      const numbered = input.steps.every((item) => typeof item.step === 'number');
      let steps: PlanStep[];
      if (numbered && known.length > 0) {
        // Only statuses changed: apply them to the known plan.
        steps = known.map((item) => ({ ...item }));
        for (const item of input.steps) {
          const index = (item.step as number) - 1;
          if (!steps[index]) {
            throw new ToolError(
              'plan_step_unknown',
              `The plan has ${known.length} steps; there is no step ${item.step}. Send the steps by number 1 to ${known.length}, or the whole list with their text.`,
            );
          }
          steps[index] = {
            text: steps[index]!.text,
            status: item.status,
            ...(item.note ? { note: item.note } : {}),
          };
        }
      } else {
        steps = input.steps.map((item) => ({
          text:
            typeof item.step === 'number' ? (known[item.step - 1]?.text ?? `Step ${item.step}`) : item.step,
          status: item.status,
          ...(item.note ? { note: item.note } : {}),
        }));
      }
      options.tracker?.setPlan(steps);
      const view = new PlanTracker(steps);
      const next = steps.find((item) => item.status === 'pending' || item.status === 'in_progress');
      return {
        text: `Plan updated:\n${view.format()}\n${next ? `Go on with: ${next.text}` : 'Every step is finished: tell the user what was done.'}`,
        data: { steps },
      };
    },
  });
}
