import type { ChatMessage, Logger } from '@shammah/provider';
import { silentLogger } from '@shammah/provider';
import type { TrainingCoordinator } from './training-coordinator.js';
import type { TrainingQueue } from './training-queue.js';
import { createExample, FEEDBACK_WEIGHTS, type WeightedExample } from './weighted-example.js';

/**
 * The parts of a router decision record (`@shammah/router`'s `RouteDecision`) that make a training
 * example: who answered, the request and the answer. A `RouteDecision` is one.
 */
export interface TeacherAnswerRecord {
  /** The decision's id; the example's id derives from it, so recording it twice stores it once. */
  id?: string;
  /** ISO time the request arrived. */
  startedAt?: string;
  /** Only `teacher` answers are learnt from. */
  route: string;
  provider?: string;
  modelId?: string;
  /** Set on conversations showing signs of crisis: never trained on. */
  crisis?: unknown;
  finishReason?: string;
  error?: unknown;
  request: { messages: ChatMessage[] };
  answer: { text: string; toolCalls?: readonly unknown[] };
}

/**
 * Turns a teacher's answer into a training example (weight 1, source `teacher-answer`), or returns
 * undefined when it should not be learnt from: not a teacher's answer, a crisis conversation, an
 * error, an answer cut short or made of tool calls, or an empty one.
 */
export function exampleFromTeacherAnswer(record: TeacherAnswerRecord): WeightedExample | undefined {
  if (record.route !== 'teacher' || record.crisis || record.error) return undefined;
  if (record.finishReason !== undefined && record.finishReason !== 'stop') return undefined;
  if ((record.answer.toolCalls?.length ?? 0) > 0 || record.answer.text.trim() === '') return undefined;
  const messages = record.request.messages;
  if (!messages.some((message) => message.role === 'user')) return undefined;
  return createExample({
    messages,
    response: record.answer.text,
    weight: FEEDBACK_WEIGHTS.good,
    source: 'teacher-answer',
    ...(record.id ? { id: `teacher-${record.id}` } : {}),
    ...(record.startedAt ? { createdAt: record.startedAt } : {}),
    ...(record.modelId
      ? { modelId: record.provider ? `${record.provider}/${record.modelId}` : record.modelId }
      : {}),
  });
}

/** Settings of {@link createTeacherLearner}. */
export interface TeacherLearnerOptions {
  /** The config's `[lora]` section; nothing is recorded unless `learn_from_teachers` is true. */
  settings: { learn_from_teachers: boolean };
  /** Where examples go. */
  queue: TrainingQueue;
  /** When given, examples go through it, so automatic training can start. */
  coordinator?: TrainingCoordinator;
  logger?: Logger;
}

/**
 * Returns a function to call with every router decision: with `learn_from_teachers` on, each usable
 * teacher answer is appended to the training queue (and may start automatic training). It resolves
 * to the stored example, or undefined; it never throws (a failed append is logged).
 *
 * @example
 * ```ts
 * const learn = createTeacherLearner({ settings: config.lora, queue, coordinator, logger });
 * router.onDecision((decision) => void learn(decision));
 * ```
 */
export function createTeacherLearner(
  options: TeacherLearnerOptions,
): (record: TeacherAnswerRecord) => Promise<WeightedExample | undefined> {
  const log = (options.logger ?? silentLogger).child({ module: 'teacher-learner' });
  return async (record) => {
    if (!options.settings.learn_from_teachers) return undefined;
    const example = exampleFromTeacherAnswer(record);
    if (!example) return undefined;
    try {
      if (options.coordinator) return (await options.coordinator.record(example)).example;
      return await options.queue.append(example);
    } catch (error) {
      log.warn({ id: example.id, error: (error as Error).message }, 'could not record a teacher answer');
      return undefined;
    }
  };
}
