import type { PresentPlanData } from './present-plan-tool.js';
import type { ToolLoopEvent } from './tool-loop.js';
import { normalizeToolName } from './tool-names.js';

/** Where one step of a plan stands. */
export type PlanStepStatus = 'pending' | 'in_progress' | 'done' | 'failed';

/** One step of a plan. */
export interface PlanStep {
  text: string;
  status: PlanStepStatus;
  /** Why it failed, or what was found on the way. */
  note?: string;
}

const MARKS: Record<PlanStepStatus, string> = {
  pending: '[ ]',
  in_progress: '[~]',
  done: '[x]',
  failed: '[!]',
};

/** Tools that are about the plan, not steps of it. */
const PLAN_TOOLS = new Set(['presentplan', 'updateplan', 'askuserquestion', 'exitplanmode']);

/**
 * The steps of the plan being carried out and their status (pending, in progress, done, failed), for
 * the host's progress display. It follows the tool loop's events: an approved PresentPlan sets the
 * steps, each UpdatePlan call the model makes replaces them with their new statuses, and the first
 * tool call while nothing is in progress starts the next pending step.
 *
 * @example
 * ```ts
 * const tracker = new PlanTracker();
 * tracker.subscribe(() => render(tracker.format()));
 * for await (const event of runToolLoop({ ... })) tracker.observe(event);
 * ```
 */
export class PlanTracker {
  private current: PlanStep[];
  private readonly listeners = new Set<(steps: readonly PlanStep[]) => void>();

  constructor(steps: ReadonlyArray<string | PlanStep> = []) {
    this.current = steps.map((step) =>
      typeof step === 'string' ? { text: step, status: 'pending' } : { ...step },
    );
  }

  /** The steps, in order. */
  get steps(): readonly PlanStep[] {
    return this.current;
  }

  /** How many steps are done, out of how many. */
  get progress(): { done: number; failed: number; total: number } {
    return {
      done: this.current.filter((step) => step.status === 'done').length,
      failed: this.current.filter((step) => step.status === 'failed').length,
      total: this.current.length,
    };
  }

  /** Every step is done or failed (and there is at least one). */
  get finished(): boolean {
    return (
      this.current.length > 0 &&
      this.current.every((step) => step.status === 'done' || step.status === 'failed')
    );
  }

  /** Replaces the plan: text steps start pending. */
  setPlan(steps: ReadonlyArray<string | PlanStep>): void {
    const next = steps.map(
      (step): PlanStep => (typeof step === 'string' ? { text: step, status: 'pending' } : { ...step }),
    );
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    this.changed();
  }

  /** Sets one step's status (0-based index); an unknown index is ignored. */
  update(index: number, status: PlanStepStatus, note?: string): void {
    const step = this.current[index];
    if (!step || (step.status === status && note === undefined)) return;
    this.current = this.current.map((item, position) =>
      position === index ? { text: item.text, status, ...(note ? { note } : {}) } : item,
    );
    this.changed();
  }

  /**
   * Follows one tool-loop event; returns whether the plan changed. Hosts pass every event of the
   * loops that carry out the plan.
   */
  observe(event: ToolLoopEvent): boolean {
    const before = JSON.stringify(this.current);
    if (event.type === 'tool-result' && !event.outcome.isError) {
      const name = normalizeToolName(event.outcome.toolName);
      const data = event.outcome.data as Partial<PresentPlanData & { steps: PlanStep[] }> | undefined;
      if (
        name === 'presentplan' &&
        (data?.decision === 'approve' || data?.decision === 'edit') &&
        data.steps
      ) {
        this.setPlan(data.steps as string[]);
      } else if (name === 'updateplan' && Array.isArray(data?.steps)) {
        this.setPlan(data.steps as PlanStep[]);
      }
    } else if (event.type === 'tool-call' && !PLAN_TOOLS.has(normalizeToolName(event.call.name))) {
      const working = this.current.some((step) => step.status === 'in_progress');
      const next = this.current.findIndex((step) => step.status === 'pending');
      if (!working && next >= 0) this.update(next, 'in_progress');
    }
    return JSON.stringify(this.current) !== before;
  }

  /** Calls `listener` after every change; returns the function that unsubscribes. */
  subscribe(listener: (steps: readonly PlanStep[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The plan as a checklist: `[x] 1. …` done, `[~]` in progress, `[!]` failed, `[ ]` pending. */
  format(): string {
    return this.current
      .map(
        (step, index) =>
          `${MARKS[step.status]} ${index + 1}. ${step.text}${step.note ? ` (${step.note})` : ''}`,
      )
      .join('\n');
  }

  /** The steps as plain JSON, to keep in a saved session. */
  toJSON(): PlanStep[] {
    return this.current.map((step) => ({ ...step }));
  }

  private changed(): void {
    for (const listener of this.listeners) listener(this.current);
  }
}
