import type { ShammahConfig, ShammahPaths } from '@shammah/config';
import { listCachedModels, readModelFiles, WorkerGenerator } from '@shammah/core-inference';
import { createAdapterStore } from '@shammah/lora';
import type { ChatModel, ChatRequest, ChatStreamPart, Logger } from '@shammah/provider';
import { collectStream } from '@shammah/provider';
import {
  createRouter,
  type LocalModel,
  type RouteDecision,
  type Router,
  RoutingLearning,
  type TeacherEntry,
} from '@shammah/router';
import type { AnyTool } from '@shammah/tools';
import { resolveServedModel } from '../lora/served-model.js';
import type {
  AnswerFeedback,
  Backend,
  BackendStatus,
  DecisionSummary,
  ModelEntry,
  RouteControls,
} from './backend.js';
import { localModelUsesTools, withTextToolCalls } from './local-tool-calls.js';

/**
 * The variant to load from an adapter's merged model: the configured one when the adapter has it,
 * else `auto` (its exact fp32 graph), with a note.
 */
async function adapterVariantFor(
  dir: string,
  variant: string,
  onNotice?: (text: string, tone: 'info' | 'warn' | 'error') => void,
): Promise<string> {
  if (variant === 'auto') return variant;
  try {
    const files = await readModelFiles(dir);
    if (files.variants.has(variant.replaceAll('_', '-'))) return variant;
    onNotice?.(
      `The active adapter has no "${variant}" variant; it runs as ${[...files.variants.keys()].join(', ')}.`,
      'info',
    );
  } catch {
    // Unreadable: let the loader report it.
  }
  return 'auto';
}

/** What the in-process backend needs. */
export interface InProcessBackendOptions {
  config: ShammahConfig;
  paths: ShammahPaths;
  /** The local model (repository id or directory); undefined runs without one. */
  localModel: string | undefined;
  /** ONNX variant; default the config's `[backend] variant`. */
  variant?: string;
  /** Every tool the session may offer (the local model's tool prompt is built from them). */
  tools: readonly AnyTool[];
  logger: Logger;
  /** Called when the local model's state changes (loading → ready), to redraw. */
  onChange?: () => void;
  /** Something the user should know (a teacher left out). */
  onNotice?: (text: string, tone: 'info' | 'warn' | 'error') => void;
}

/** Teachers from `[[teachers]]` (or `ANTHROPIC_API_KEY` alone, as the original allowed). */
async function createTeachers(
  config: ShammahConfig,
  logger: Logger,
  onNotice?: (text: string, tone: 'info' | 'warn' | 'error') => void,
): Promise<TeacherEntry[]> {
  const entries =
    config.teachers.length > 0
      ? config.teachers
      : process.env.ANTHROPIC_API_KEY
        ? [{ provider: 'claude', name: 'Claude' }]
        : [];
  if (entries.length === 0) return [];
  const { createTeacher } = await import('@shammah/teachers');
  // A teacher that cannot be set up (no key, an unknown provider) is left out, not fatal.
  return entries.flatMap((entry) => {
    try {
      const model = createTeacher(entry, { logger });
      return [{ model, name: entry.name ?? model.name }];
    } catch (error) {
      onNotice?.(
        `The teacher ${entry.name ?? entry.provider} is left out: ${(error as Error).message}`,
        'warn',
      );
      return [];
    }
  });
}

function summarize(decision: RouteDecision): DecisionSummary {
  return {
    id: decision.id,
    route: decision.route,
    reason: decision.reason,
    name: decision.name,
    modelId: decision.modelId,
    latencyMs: decision.latencyMs,
    ...(decision.costUsd !== undefined ? { costUsd: decision.costUsd } : {}),
  };
}

/**
 * The router in this process: the local model on a worker thread (so the terminal stays
 * responsive while it loads and generates) and the configured teachers. Used with `--direct`,
 * when the config says `use_daemon = false`, and when the daemon cannot be reached.
 */
export async function createInProcessBackend(options: InProcessBackendOptions): Promise<Backend> {
  const { config, paths, logger, tools } = options;
  const variant = options.variant ?? config.backend.variant;
  let generator: WorkerGenerator | undefined;
  let local: LocalModel | undefined;
  let localTools = false;
  let loadedModelId: string | undefined;

  const adapters = createAdapterStore({ dir: paths.adapters, logger });
  const loadLocal = async (modelId: string) => {
    // The active LoRA adapter (shammah lora use) when it was trained on this model, else the model.
    const served = await resolveServedModel(modelId, adapters);
    if (served.adapter) {
      logger.info({ model: modelId, adapter: served.adapter, dir: served.load }, 'serving a LoRA adapter');
    }
    // An adapter is exported at full precision (and as any variants asked for at training).
    const adapterVariant = served.adapter
      ? await adapterVariantFor(served.load, variant, options.onNotice)
      : variant;
    const name = served.adapter ? `${modelId} + ${served.adapter}` : modelId;
    generator = WorkerGenerator.create({
      model: served.load,
      variant: adapterVariant,
      ...(config.backend.threads ? { threads: config.backend.threads } : {}),
      logger,
    });
    localTools = localModelUsesTools(modelId);
    loadedModelId = modelId;
    const loaded = generator;
    let settled = false;
    void loaded.ready().then(
      () => {
        settled = true;
        options.onChange?.();
      },
      () => {
        settled = true;
        options.onChange?.();
      },
    );
    // The generator says `absent` until its worker has found the files; to the router that means
    // "not downloaded" and no answer. Until loading has settled it is `loading`.
    const reported: LocalModel = {
      provider: loaded.provider,
      get modelId() {
        return name;
      },
      get status() {
        const status = loaded.status;
        return !settled && status.state === 'absent' ? { state: 'loading' as const } : status;
      },
      get capabilities() {
        return loaded.capabilities;
      },
      stream: (request) => loaded.stream(request),
      generate: (request) => loaded.generate(request),
    };
    local = withTextToolCalls(reported, { tools, offerTools: localTools });
  };
  if (options.localModel && config.backend.enabled) await loadLocal(options.localModel);

  // The router keeps the local model it was given; this stand-in lets /model swap what is behind it.
  const swappableLocal: LocalModel = {
    provider: 'local',
    get modelId() {
      return local?.modelId ?? 'none';
    },
    get status() {
      return local?.status ?? { state: 'absent' as const };
    },
    get capabilities() {
      return (
        local?.capabilities ?? {
          tools: true,
          streaming: true,
          vision: false,
          contextLength: 8192,
          maxOutputTokens: 4096,
        }
      );
    },
    async *stream(request) {
      if (!local) throw new Error('No local model is loaded. Pick one with /model or `shammah models pull`.');
      yield* local.stream(request);
    },
    generate: (request) => collectStream(swappableLocal.stream(request)),
  };

  const teachers = await createTeachers(config, logger, options.onNotice);
  const learning = config.router.learning
    ? await RoutingLearning.open({ path: paths.routerStats, logger }).catch(() => undefined)
    : undefined;
  const router: Router = createRouter({
    ...(config.backend.enabled ? { local: swappableLocal } : {}),
    teachers,
    ...(learning ? { learning } : {}),
    logger,
  });

  const backend: Backend = {
    mode: 'in-process',
    model(controls: RouteControls = {}): ChatModel {
      const routed: ChatModel = {
        provider: router.provider,
        modelId: router.modelId,
        get capabilities() {
          return router.capabilities;
        },
        stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
          return router.stream({
            ...request,
            ...(controls.force ? { force: controls.force } : {}),
            ...(controls.model && controls.model !== 'auto' ? { model: controls.model } : {}),
            ...(controls.onDecision
              ? { onDecision: (decision: RouteDecision) => controls.onDecision?.(summarize(decision)) }
              : {}),
          });
        },
        generate: (request) => collectStream(routed.stream(request)),
      };
      return routed;
    },
    status(): BackendStatus {
      const status = local?.status;
      return {
        mode: 'in-process',
        daemon: { state: 'not-used' },
        ...(local && status
          ? {
              local: {
                modelId: local.modelId,
                state: status.state,
                ...(status.progress !== undefined ? { progress: status.progress } : {}),
                ...(status.reason !== undefined ? { reason: status.reason } : {}),
              },
            }
          : {}),
        teachers: teachers.map((teacher) => ({
          name: teacher.name ?? teacher.model.modelId,
          modelId: teacher.model.modelId,
        })),
        localTools,
      };
    },
    async ready() {
      await generator?.ready().catch(() => undefined);
    },
    async feedback(feedback: AnswerFeedback) {
      router.feedback({
        ...(feedback.decisionId ? { decisionId: feedback.decisionId } : { query: feedback.query }),
        rating: feedback.rating,
      });
    },
    async models(): Promise<ModelEntry[]> {
      const cached = await listCachedModels().catch(() => []);
      return [
        { name: 'auto', kind: 'auto', detail: 'the router decides (local when it can, else a teacher)' },
        ...(local
          ? [{ name: 'local', kind: 'local' as const, detail: `${local.modelId} (${local.status.state})` }]
          : []),
        ...teachers.map((teacher) => ({
          name: teacher.name ?? teacher.model.modelId,
          kind: 'teacher' as const,
          detail: `${teacher.model.provider}:${teacher.model.modelId}`,
        })),
        ...cached
          .filter((model) => model.repoId !== loadedModelId)
          .map((model) => ({
            name: model.repoId,
            kind: 'cached' as const,
            detail: `downloaded, ${(model.sizeBytes / 1e6).toFixed(0)} MB (${model.variants.join(', ')})`,
          })),
      ];
    },
    async switchLocalModel(modelId: string) {
      const previous = generator;
      await loadLocal(modelId);
      options.onChange?.();
      await previous?.dispose().catch(() => undefined);
    },
    async close() {
      await router.close().catch(() => undefined);
      await generator?.dispose().catch(() => undefined);
    },
  };
  return backend;
}
