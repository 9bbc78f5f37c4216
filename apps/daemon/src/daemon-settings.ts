import { join } from 'node:path';
import { configuredModel, loadConfig, type ShammahConfig } from '@shammah/config';
import type { ChatModel, Logger } from '@shammah/provider';
import { createRouter } from '@shammah/router';
import { createTeacher, type TeacherConfig } from '@shammah/teachers';
import { DaemonConfigError } from './errors.js';
import type { RunDaemonOptions } from './lifecycle.js';
import { createLocalModel } from './local-model.js';

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
 * The daemon's settings from config.toml (`[server]`, `[backend]`, `[[teachers]]`) and the command
 * line: the local model (created here, loading in the background), the teachers, and the router
 * over them.
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
  const teachers = teachersFrom(config, logger);
  const modelName = flags.model ?? configuredModel(config) ?? DEFAULT_LOCAL_MODEL;
  const useLocal = !flags.noLocal && (flags.model !== undefined || backend.enabled !== false);
  const local = useLocal
    ? (
        await createLocalModel({
          model: modelName,
          variant: flags.variant ?? backend.variant,
          maxSessions,
          download: !flags.noDownload,
          ...(backend.threads ? { threads: backend.threads } : {}),
          logger,
        })
      ).generator
    : undefined;
  return {
    home: flags.home,
    host,
    port,
    apiKeys,
    maxSessions,
    sessionIdleTimeoutMs: server.session_timeout_minutes * 60_000,
    maxQueuedRequests: flags.maxQueued ?? server.max_queue,
    ...(flags.shutdownGraceMs !== undefined ? { shutdownGraceMs: flags.shutdownGraceMs } : {}),
    ...(local ? { local } : {}),
    teachers,
    route: (models) => createRouter({ ...models, logger }),
    logger,
    version: flags.version,
    dispose: async () => {
      await local?.dispose();
    },
  };
}
