import type { Hono } from 'hono';
import { z } from 'zod';
import type { DaemonEnv } from './daemon.js';
import type { DaemonTraining } from './daemon-training.js';

/** The answer of `GET /v1/training/status`. */
export const trainingStatusSchema = z.object({
  object: z.literal('training.status'),
  enabled: z.boolean().describe('Whether this daemon has a training queue.'),
  state: z
    .enum(['idle', 'training', 'training-elsewhere', 'disabled'])
    .describe('Idle, training in this daemon, or training in another Shammah process (a CLI).'),
  run: z
    .object({
      version: z.string().describe('The adapter version the training will publish.'),
      reason: z.enum(['manual', 'auto']),
      startedAt: z.string(),
      examples: z.number(),
      phase: z.string().optional(),
      step: z.number().optional(),
      totalSteps: z.number().optional(),
      loss: z.number().nullable().optional(),
      etaSeconds: z.number().optional(),
    })
    .optional(),
  elsewhere: z.object({ pid: z.number(), hostname: z.string(), since: z.string() }).optional(),
  queue: z
    .object({
      path: z.string(),
      examples: z.number().describe('Examples in the queue.'),
      newExamples: z.number().describe('Examples the newest adapter was not trained on.'),
      newWeight: z.number(),
      threshold: z.number().describe('[lora] min_new_examples.'),
      due: z.boolean().describe('Whether the policy says it is time to train.'),
      unreadableLines: z.number(),
    })
    .optional(),
  autoTrain: z.boolean(),
  learnFromTeachers: z.boolean(),
  adapters: z
    .object({
      active: z
        .string()
        .nullable()
        .describe('The adapter version `shammah lora use` made active (null: the base model).'),
      served: z
        .object({
          kind: z.enum(['base', 'adapter']),
          version: z.string().optional(),
          reason: z.string(),
        })
        .optional()
        .describe(
          'What this daemon loaded when it started (a newly activated adapter is served after a restart).',
        ),
      versions: z.array(
        z.object({
          version: z.string(),
          active: z.boolean(),
          createdAt: z.string(),
          examples: z.number(),
        }),
      ),
    })
    .optional(),
});

type TrainingStatusBody = z.infer<typeof trainingStatusSchema>;

/** `GET /v1/training/status`: the LoRA training queue, a training in progress, and the adapters. */
export function registerTrainingStatusEndpoint(
  app: Hono<DaemonEnv>,
  training: DaemonTraining | undefined,
): void {
  app.get('/v1/training/status', async (c) => {
    c.set('routeLabel', '/v1/training/status');
    c.header('cache-control', 'no-store');
    if (!training) {
      const body: TrainingStatusBody = {
        object: 'training.status',
        enabled: false,
        state: 'disabled',
        autoTrain: false,
        learnFromTeachers: false,
      };
      return c.json(body);
    }
    const { coordinator } = training;
    const [status, pending, contents, pointer, adapters] = await Promise.all([
      coordinator.status(),
      coordinator.pending(),
      coordinator.queue.read(),
      coordinator.store.readPointer(),
      coordinator.store.list(),
    ]);
    const body: TrainingStatusBody = {
      object: 'training.status',
      enabled: true,
      state: status.state,
      autoTrain: coordinator.settings.auto_train,
      learnFromTeachers: training.learnFromTeachers ?? false,
      queue: {
        path: coordinator.queue.path,
        examples: pending.total,
        newExamples: pending.new,
        newWeight: pending.newWeight,
        threshold: pending.threshold,
        due: pending.due,
        unreadableLines: contents.skipped.length,
      },
      adapters: {
        active: pointer.version,
        ...(training.servedModel
          ? {
              served: {
                kind: training.servedModel.kind,
                ...(training.servedModel.version ? { version: training.servedModel.version } : {}),
                reason: training.servedModel.reason,
              },
            }
          : {}),
        versions: adapters.map((adapter) => ({
          version: adapter.version,
          active: adapter.active,
          createdAt: adapter.manifest.created_at,
          examples: adapter.manifest.examples?.count ?? 0,
        })),
      },
    };
    if (status.state === 'training') {
      const run = status.run;
      const progress = run.progress;
      body.run = {
        version: run.version,
        reason: run.reason,
        startedAt: run.startedAt.toISOString(),
        examples: run.examples,
        ...(run.phase ? { phase: run.phase } : {}),
        ...(progress
          ? {
              step: progress.step,
              totalSteps: progress.totalSteps,
              loss: progress.loss,
              etaSeconds: progress.etaSeconds,
            }
          : {}),
      };
    } else if (status.state === 'training-elsewhere') {
      body.elsewhere = { pid: status.pid, hostname: status.hostname, since: status.since };
    }
    return c.json(body);
  });
}
