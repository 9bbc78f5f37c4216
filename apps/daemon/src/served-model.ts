import { stat } from 'node:fs/promises';
import { isRepoId, snapshotDir } from '@shammah/core-inference';
import type { AdapterStore, ResolvedModel } from '@shammah/lora';

/** Options of {@link resolveServedModel}. */
export interface ServedModelOptions {
  /** A Hub repository id or a model directory: the base model. */
  model: string;
  /** The adapters (`<home>/adapters`). */
  adapters: AdapterStore;
  /** The Hugging Face hub cache. */
  cacheDir?: string;
}

/** What the daemon loads: a model directory (or a repository id to download), and why. */
export interface ServedModel {
  /** What to give the generator: the active adapter's merged model, the base directory, or the repository id. */
  load: string;
  /** The model id answers report. */
  name: string;
  /** The base model's directory, when it is on disk (adapters are trained against it). */
  baseDir: string | undefined;
  resolved: ResolvedModel;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

/**
 * The model directory the daemon serves: the active LoRA adapter's merged model (after
 * `shammah lora use`), else the base model. A base model not yet downloaded is served as itself: no
 * adapter can have been trained on it.
 *
 * @example
 * ```ts
 * const served = await resolveServedModel({ model: 'HuggingFaceTB/SmolLM2-135M-Instruct', adapters: createAdapterStore() });
 * const { generator } = await createLocalModel({ model: served.load });
 * ```
 */
export async function resolveServedModel(options: ServedModelOptions): Promise<ServedModel> {
  const { model } = options;
  const baseDir = (await isDirectory(model))
    ? model
    : isRepoId(model)
      ? await snapshotDir(model, 'main', options.cacheDir)
      : undefined;
  if (!baseDir) {
    return {
      load: model,
      name: model,
      baseDir: undefined,
      resolved: { kind: 'base', dir: model, reason: `${model} is not downloaded yet, so no adapter applies` },
    };
  }
  const resolved = await options.adapters.resolveModel({ dir: baseDir });
  return {
    load: resolved.dir,
    // Answers name the model as the user configured it (plus the adapter's version), not by a path.
    name: resolved.kind === 'adapter' && resolved.version ? `${model}+${resolved.version}` : model,
    baseDir,
    resolved,
  };
}
