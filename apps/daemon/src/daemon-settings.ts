import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { configuredModel, loadConfig, type ShammahConfig, shammahPaths } from '@shammah/config';
import { createAdapterStore, createTrainingCoordinator, createTrainingQueue } from '@shammah/lora';
import type { ChatModel, Logger } from '@shammah/provider';
import { createRouter, type Router, RoutingLearning } from '@shammah/router';
import { createTeacher, type TeacherConfig } from '@shammah/teachers';
import { confidenceFromThreshold } from './confidence-threshold.js';
import type { DaemonTraining } from './daemon-training.js';
import { DaemonConfigError } from './errors.js';
import type { RunDaemonOptions } from './lifecycle.js';
import { createLocalModel } from './local-model.js';
import { resolveServedModel, type ServedModel } from './served-model.js';

/** The local model the daemon runs when neither flags nor config.toml name one. */
export const DEFAULT_LOCAL_MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';

/** Settings from the command line; each overrides config.toml. */
export interface DaemonFlags {
  home: string;
  /** `host:port`. */
  bind?: string;
  model?: string;
  variant?: string;
  /** Run without a local model (teachers only). */
  noLocal?: boolean;
  /** Do not download a missing model. */
  noDownload?: boolean;
  apiKeys?: string[];
  maxSessions?: number;
  maxQueued?: number;
  /** How long shutdown lets requests finish before cancelling them. */
  shutdownGraceMs?: number;
  version: string;
}

/** Splits `host:port` (`[::1]:11435` for IPv6). */
export function parseBindAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new DaemonConfigError(
      `The bind address "${value}" is not host:port. Write it like 127.0.0.1:11435 (or [::1]:11435).`,
    );
  }
  return { host: match[1] ?? match[2]!, port };
}

function teachersFrom(config: ShammahConfig, logger: Logger): ChatModel[] {
  const entries: TeacherConfig[] =
    config.teachers.length > 0
      ? (config.teachers as TeacherConfig[])
      : process.env.ANTHROPIC_API_KEY
        ? [{ provider: 'claude', name: 'Claude' }]
        : [];
  const teachers: ChatModel[] = [];
  for (const entry of entries) {
    try {
      teachers.push(createTeacher(entry, { logger }));
    } catch (error) {
      logger.warn({ provider: entry.provider, error: (error as Error).message }, 'teacher skipped');
    }
  }
  return teachers;
}

/**
 * The daemon's settings from config.toml (`[server]`, `[backend]`, `[[teachers]]`, `[router]`,
 * `[lora]`) and the command line: the local model (the active LoRA adapter's, else the base model;
 * created here, loading in the background), the teachers, the router over them with its learning
 * (`router_stats.json` in Shammah's home, as the CLI keeps it) and confidence check, and the training
 * queue feedback and teacher answers go to.
 */
export async function daemonSettings(
  flags: DaemonFlags,
  logger: Logger,
): Promise<RunDaemonOptions & { dispose: () => Promise<void> }> {
  const config = await loadConfig({ path: join(flags.home, 'config.toml') });
  const { server, backend } = config;
  const { host, port } = parseBindAddress(flags.bind ?? server.bind_address);
  const maxSessions = flags.maxSessions ?? server.max_sessions;
  const apiKeys = flags.apiKeys?.length ? flags.apiKeys : server.auth_enabled ? server.api_keys : [];
  if (server.auth_enabled && apiKeys.length === 0) {
    throw new DaemonConfigError(
      'config.toml sets [server] auth_enabled = true but api_keys is empty, so no client could connect. ' +
        'Add a key to api_keys (or pass --api-key), or set auth_enabled = false.',
    );
  }
  const confidence = confidenceFromThreshold(config.router.confidence_threshold);
  const teachers = teachersFrom(config, logger);
  const paths = shammahPaths(flags.home);
  const modelName = flags.model ?? configuredModel(config) ?? DEFAULT_LOCAL_MODEL;
  const useLocal = !flags.noLocal && (flags.model !== undefined || backend.enabled !== false);
  const adapters = createAdapterStore({ dir: paths.adapters, logger });
  const served: ServedModel | undefined = useLocal
    ? await resolveServedModel({ model: modelName, adapters })
    : undefined;
  if (served) {
    logger.info(
      { model: modelName, load: served.load, kind: served.resolved.kind, version: served.resolved.version },
      `serving ${served.resolved.kind === 'adapter' ? `adapter ${served.resolved.version}` : 'the base model'}: ${served.resolved.reason}`,
    );
  }
  const local = served
    ? (
        await createLocalModel({
          model: served.load,
          name: served.name,
          variant: flags.variant ?? backend.variant,
          maxSessions,
          download: !flags.noDownload,
          ...(backend.threads ? { threads: backend.threads } : {}),
          batchSize: server.batch_size,
          logger,
        })
      ).generator
    : undefined;
  const queue = createTrainingQueue({ path: paths.trainingQueue, logger });
  const training: DaemonTraining = {
    coordinator: createTrainingCoordinator({
      base: { modelId: modelName, dir: served?.baseDir ?? modelName },
      settings: config.lora,
      home: flags.home,
      queue,
      store: adapters,
      logger,
    }),
    learnFromTeachers: config.lora.learn_from_teachers,
    ...(served ? { servedModel: served.resolved } : {}),
  };
  const learning = config.router.learning
    ? await RoutingLearning.open({ path: paths.routerStats, logger }).catch((error: unknown) => {
        logger.warn(
          { path: paths.routerStats, error: (error as Error).message },
          'routing learning is off: its statistics could not be opened',
        );
        return undefined;
      })
    : undefined;
  let router: Router | undefined;
  return {
    home: flags.home,
    host,
    port,
    apiKeys,
    maxSessions,
    sessionIdleTimeoutMs: server.session_timeout_minutes * 60_000,
    maxQueuedRequests: flags.maxQueued ?? server.max_queue,
    localConcurrency: server.batch_size,
    tools: server.tools,
    ...(server.tools_dir !== ''
      ? { toolsDir: resolve(server.tools_dir.replace(/^~(?=$|[\\/])/, homedir())) }
      : {}),
    ...(flags.shutdownGraceMs !== undefined ? { shutdownGraceMs: flags.shutdownGraceMs } : {}),
    ...(local ? { local } : {}),
    teachers,
    route: (models) => {
      router = createRouter({
        ...models,
        ...(learning ? { learning } : {}),
        ...(confidence ? { confidence } : {}),
        logger,
      });
      return router;
    },
    training,
    logger,
    version: flags.version,
    dispose: async () => {
      // Saves the routing statistics; stops a training this daemon started (the queue and the served
      // adapter stay intact), so no trainer outlives the daemon.
      await (router ? router.close() : learning?.close())?.catch(() => undefined);
      await training.coordinator.cancel().catch(() => undefined);
      await local?.dispose();
    },
  };
}
