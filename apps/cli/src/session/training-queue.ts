import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How an answer was judged: the original's three levels. */
export type FeedbackRating = 'good' | 'improve' | 'critical';

/** Training weight of each rating, as the original gave them (critical 10, improvement 3, good 1). */
export const FEEDBACK_WEIGHTS: Readonly<Record<FeedbackRating, number>> = {
  critical: 10,
  improve: 3,
  good: 1,
};

/** One line of `training_queue.jsonl`, in the original Shammah's format. */
export interface TrainingExample {
  query: string;
  response: string;
  weight: number;
  feedback: string;
}

/**
 * The training example for feedback on an answer. With a correction, the correction is the
 * response to learn and the feedback says the answer was corrected; without one, the answer is
 * kept with the rating's weight.
 */
export function trainingExample(input: {
  query: string;
  answer: string;
  rating: FeedbackRating;
  correction?: string;
}): TrainingExample {
  const correction = input.correction?.trim();
  return {
    query: input.query,
    response: correction || input.answer,
    weight: FEEDBACK_WEIGHTS[input.rating],
    feedback: correction ? `${input.rating}: corrected by the user` : input.rating,
  };
}

/**
 * Appends one example to the training queue as a single line with a single `write` on a file
 * opened with O_APPEND, so concurrent writers (the REPL, the daemon) never interleave or tear
 * lines.
 */
export async function appendTrainingExample(path: string, example: TrainingExample): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'a', 0o600);
  try {
    await handle.write(`${JSON.stringify(example)}\n`);
  } finally {
    await handle.close();
  }
}
