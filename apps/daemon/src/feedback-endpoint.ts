import { createExample, type FeedbackLevel, feedbackLevel, weightFor } from '@shammah/lora';
import type { FeedbackRating } from '@shammah/router';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { DaemonEnv } from './daemon.js';
import type { DaemonTraining, LearningRouter } from './daemon-training.js';
import { readJsonBody, validateBody } from './request-body.js';

const RATINGS = ['good', 'improve', 'critical'] as const;
/** Other names of the ratings: the original's `/medium`, and `@shammah/lora`'s level name. */
const RATING_ALIASES: Record<string, FeedbackRating> = { medium: 'improve', improvement: 'improve' };

/** The body of `POST /v1/feedback`: the original Shammah's fields, plus `rating` and `correction`. */
export const feedbackRequestSchema = z
  .strictObject({
    query: z
      .string()
      .refine((value) => value.trim() !== '', 'must be the question the answer was for, not empty')
      .describe("The user's message the answer was given to."),
    response: z
      .string()
      .refine((value) => value.trim() !== '', 'must be the answer that was given, not empty')
      .describe('The answer the user judges.'),
    rating: z
      .enum([...RATINGS, 'medium', 'improvement'], {
        error: 'must be "good", "improve" or "critical"',
      })
      .optional()
      .describe(
        'How good the answer was: good (weight 1), improve (3; also "medium") or critical (10). Give this or weight.',
      ),
    weight: z
      .number({ error: 'must be a number: 10 critical, 3 improve, 1 good' })
      .positive({ error: 'must be a positive number: 10 critical, 3 improve, 1 good' })
      .max(1000, { error: 'must be at most 1000' })
      .optional()
      .describe(
        'The training weight, as the original sent it (10 critical, 3 improve, 1 good). Give this or rating.',
      ),
    correction: z
      .string()
      .refine(
        (value) => value.trim() !== '',
        'must be the better answer, not empty (leave it out if there is none)',
      )
      .optional()
      .describe('The answer the user wanted instead: trained on in place of `response`.'),
    feedback: z.string().optional().describe("The user's note about the answer, kept with the example."),
    model: z.string().optional().describe('The model that gave the answer (the x-shammah-model header).'),
    train: z
      .boolean({ error: 'must be true or false' })
      .default(true)
      .describe(
        'Queue a training example (default true). A caller that wrote the training queue itself sends false, ' +
          'so the daemon only updates routing.',
      ),
  })
  .refine((body) => body.rating !== undefined || body.weight !== undefined, {
    path: ['rating'],
    message: 'give rating ("good", "improve" or "critical") or weight (10 critical, 3 improve, 1 good)',
  });

/** The answer of `POST /v1/feedback`. */
export const feedbackResponseSchema = z.object({
  object: z.literal('feedback'),
  rating: z.enum(RATINGS),
  weight: z.number(),
  training: z.object({
    queued: z.boolean(),
    exampleId: z.string().optional(),
    /** The adapter version an automatic training started for. */
    trainingStarted: z.string().optional(),
    reason: z.string().optional().describe('Why nothing was queued.'),
  }),
  routing: z.object({
    applied: z.boolean().describe("Whether the rating changed the category's local success rate."),
    category: z.string().optional(),
    reason: z
      .string()
      .optional()
      .describe('Why it did not: unknown-answer, teacher-answer, learning-off, no-router.'),
    successRate: z.number().optional(),
    escalated: z.boolean().optional(),
  }),
});

type FeedbackResponse = z.infer<typeof feedbackResponseSchema>;

const LEVEL_RATING: Record<FeedbackLevel, FeedbackRating> = {
  good: 'good',
  improvement: 'improve',
  critical: 'critical',
};
const RATING_LEVEL: Record<FeedbackRating, FeedbackLevel> = {
  good: 'good',
  improve: 'improvement',
  critical: 'critical',
};

/** What the feedback endpoint feeds. */
export interface FeedbackEndpointOptions {
  router: LearningRouter | undefined;
  training: DaemonTraining | undefined;
  maxBodyBytes: number;
}

/**
 * `POST /v1/feedback`: a user's judgement of an answer becomes a weighted training example in the LoRA
 * queue (the same queue the CLI's `/feedback` writes) and updates the router's per-category learning.
 */
export function registerFeedbackEndpoint(app: Hono<DaemonEnv>, options: FeedbackEndpointOptions): void {
  app.post('/v1/feedback', async (c) => {
    c.set('routeLabel', '/v1/feedback');
    const body = validateBody(
      feedbackRequestSchema,
      await readJsonBody(c.req.raw, options.maxBodyBytes),
      'openai',
    );
    const named = body.rating === undefined ? undefined : (RATING_ALIASES[body.rating] ?? body.rating);
    const rating = (named ?? LEVEL_RATING[feedbackLevel(body.weight!)]) as FeedbackRating;
    const weight = body.weight ?? weightFor(RATING_LEVEL[rating]);

    let training: FeedbackResponse['training'];
    if (!body.train) {
      // The caller queued the example itself (the CLI writes the same queue): training may be due.
      const started = await options.training?.coordinator.maybeTrain().catch(() => undefined);
      training = {
        queued: false,
        reason: 'train is false',
        ...(started ? { trainingStarted: started.version } : {}),
      };
    } else if (!options.training) {
      training = { queued: false, reason: 'this daemon has no training queue' };
    } else {
      const example = createExample({
        query: body.query,
        response: body.correction ?? body.response,
        weight,
        feedback: body.feedback ?? (body.correction ? `${rating}: corrected by the user` : rating),
        ...(body.model ? { modelId: body.model } : {}),
        ...(body.correction ? { rejectedResponse: body.response } : {}),
      });
      const recorded = await options.training.coordinator.record(example);
      training = {
        queued: true,
        exampleId: recorded.example.id,
        ...(recorded.training ? { trainingStarted: recorded.training.version } : {}),
      };
    }

    let routing: FeedbackResponse['routing'];
    if (!options.router) routing = { applied: false, reason: 'no-router' };
    else {
      const outcome = options.router.feedback({ query: body.query, rating });
      routing = outcome.applied
        ? {
            applied: true,
            category: outcome.category,
            ...(outcome.snapshot
              ? { successRate: outcome.snapshot.successRate, escalated: outcome.snapshot.escalated }
              : {}),
          }
        : { applied: false, category: outcome.category, reason: outcome.reason };
    }
    c.get('logger').info({ rating, weight, training, routing }, 'feedback recorded');
    const answer: FeedbackResponse = { object: 'feedback', rating, weight, training, routing };
    return c.json(answer);
  });
}
