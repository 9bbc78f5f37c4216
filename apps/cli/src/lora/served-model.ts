import { snapshotDir } from '@shammah/core-inference';
import type { AdapterStore } from '@shammah/lora';

/** What the local model runs on: the base model's files, or an adapter trained on them. */
export interface ServedModel {
  /** The model's id as configured (a Hub repository or a directory). */
  modelId: string;
  /** What to load: the base model (its id) or the active adapter's merged model directory. */
  load: string;
  /** The base model's directory, when it is downloaded. */
  baseDir?: string;
  /** The active adapter's version, when one is served. */
  adapter?: string;
  /** In words: why the base model or the adapter is served. */
  reason: string;
}

/** The directory of a model given as a Hub repository id or a directory. */
export async function modelDirectory(modelId: string): Promise<string | undefined> {
  if (modelId.startsWith('/') || modelId.startsWith('.')) return modelId;
  return snapshotDir(modelId);
}

/**
 * Which files the local model `modelId` should load: the active LoRA adapter's merged model when
 * one is active and was trained on this very model (same id or directory, and same weights, which
 * {@link AdapterStore.resolveModel} checks), else the model itself. Never throws: an unreadable
 * adapter store means the base model.
 */
export async function resolveServedModel(modelId: string, store: AdapterStore): Promise<ServedModel> {
  const baseDir = await modelDirectory(modelId).catch(() => undefined);
  if (!baseDir) return { modelId, load: modelId, reason: `${modelId} is not downloaded` };
  try {
    const active = await store.active();
    if (!active) return { modelId, load: modelId, baseDir, reason: 'no adapter is active' };
    const base = active.manifest.base;
    if (base.model_id !== modelId && base.dir !== baseDir) {
      return {
        modelId,
        load: modelId,
        baseDir,
        reason: `adapter ${active.version} was trained on ${base.model_id ?? base.dir ?? 'another model'}, not ${modelId}`,
      };
    }
    const resolved = await store.resolveModel({ dir: baseDir });
    if (resolved.kind === 'base') return { modelId, load: modelId, baseDir, reason: resolved.reason };
    return {
      modelId,
      load: resolved.dir,
      baseDir,
      ...(resolved.version ? { adapter: resolved.version } : {}),
      reason: resolved.reason,
    };
  } catch (error) {
    return {
      modelId,
      load: modelId,
      baseDir,
      reason: `the adapters are unreadable: ${(error as Error).message}`,
    };
  }
}
