import type { Hono } from 'hono';
import { z } from 'zod';
import type { DaemonEnv, HealthReport } from './daemon.js';
import type { DaemonTraining, LearningRouter } from './daemon-training.js';

const categorySchema = z.object({
  name: z.string(),
  successRate: z.number().describe('Local success rate learnt from feedback, prior included.'),
  successes: z.number(),
  failures: z.number(),
  observations: z.number().describe('Local answers judged, ever.'),
  escalated: z.boolean().describe('Whether requests of this category now go to a teacher.'),
});

/** The answer of `GET /v1/status`. */
export const statusSchema = z.object({
  object: z.literal('status'),
  status: z.enum(['ok', 'starting', 'degraded', 'stopping']),
  version: z.string(),
  uptimeSeconds: z.number(),
  model: z
    .object({
      id: z.string(),
      state: z.string().describe('absent, downloading, loading, ready or failed.'),
      progress: z.number().optional(),
      reason: z.string().optional(),
      variant: z.string().optional(),
      served: z
        .object({ kind: z.enum(['base', 'adapter']), version: z.string().optional(), reason: z.string() })
        .optional()
        .describe('Whether the base model or a LoRA adapter was loaded, and why.'),
    })
    .nullable(),
  teachers: z.array(z.object({ name: z.string().optional(), provider: z.string(), model: z.string() })),
  routes: z
    .object({
      total: z.number(),
      byRoute: z.record(z.string(), z.number()),
      byReason: z.record(z.string(), z.number()),
      fallbacks: z.number(),
      errors: z.number(),
      costUsd: z.number().describe("Teachers' estimated cost since the daemon started."),
    })
    .nullable()
    .describe("The router's decisions since the daemon started (null without a router)."),
  confidence: z
    .object({ tokens: z.number(), minMeanLogprob: z.number(), minTokenLogprob: z.number().nullable() })
    .nullable()
    .describe('The confidence check on local answers ([router] confidence_threshold), null when off.'),
  learning: z
    .object({
      threshold: z.number(),
      minSamples: z.number(),
      queries: z.number(),
      escalationRate: z.number(),
      localSuccessRate: z.number().nullable(),
      path: z.string().nullable(),
      categories: z.array(categorySchema),
    })
    .nullable()
    .describe('Per-category learning from feedback ([router] learning), null when off.'),
  queue: z.object({ queued: z.number(), active: z.number(), max: z.number() }),
  sessions: z.object({ count: z.number(), max: z.number() }),
  inFlight: z.number(),
});

type StatusBody = z.infer<typeof statusSchema>;

/** What the status endpoint reports from. */
export interface StatusEndpointOptions {
  health: () => HealthReport;
  router: LearningRouter | undefined;
  training: DaemonTraining | undefined;
}

/**
 * `GET /v1/status` (the original Shammah's): the model and its load state, the router's decisions
 * and learning by category, the queue and the sessions.
 */
export function registerStatusEndpoint(app: Hono<DaemonEnv>, options: StatusEndpointOptions): void {
  app.get('/v1/status', (c) => {
    c.set('routeLabel', '/v1/status');
    const health = options.health();
    const snapshot = options.router?.snapshot();
    const served = options.training?.servedModel;
    const learning = snapshot?.learning;
    const names = new Map(
      snapshot?.teachers.map((teacher) => [`${teacher.provider}:${teacher.modelId}`, teacher.name]),
    );
    const body: StatusBody = {
      object: 'status',
      status: health.status,
      version: health.version,
      uptimeSeconds: health.uptimeSeconds,
      model: health.model
        ? {
            ...health.model,
            ...(served
              ? {
                  served: {
                    kind: served.kind,
                    ...(served.version ? { version: served.version } : {}),
                    reason: served.reason,
                  },
                }
              : {}),
          }
        : null,
      teachers: health.teachers.map((teacher) => {
        const name = names.get(`${teacher.provider}:${teacher.model}`);
        return { ...(name ? { name } : {}), provider: teacher.provider, model: teacher.model };
      }),
      routes: snapshot
        ? {
            total: snapshot.decisions.total,
            byRoute: snapshot.decisions.byRoute,
            byReason: snapshot.decisions.byReason,
            fallbacks: snapshot.decisions.fallbacks,
            errors: snapshot.decisions.errors,
            costUsd: snapshot.decisions.costUsd,
          }
        : null,
      confidence: snapshot?.confidence
        ? {
            tokens: snapshot.confidence.tokens,
            minMeanLogprob: snapshot.confidence.minMeanLogprob,
            minTokenLogprob: Number.isFinite(snapshot.confidence.minTokenLogprob)
              ? snapshot.confidence.minTokenLogprob
              : null,
          }
        : null,
      learning: learning
        ? {
            threshold: learning.threshold,
            minSamples: learning.minSamples,
            queries: learning.queries,
            escalationRate: learning.escalationRate,
            localSuccessRate: learning.localSuccessRate ?? null,
            path: learning.path ?? null,
            categories: learning.categories.map((category) => ({
              name: category.name,
              successRate: category.successRate,
              successes: category.successes,
              failures: category.failures,
              observations: category.observations,
              escalated: category.escalated,
            })),
          }
        : null,
      queue: health.queue,
      sessions: health.sessions,
      inFlight: health.inFlight,
    };
    return c.json(body);
  });
}
