import { configuredModel, type ShammahConfig } from '@shammah/config';
import { listCachedModels, MODEL_LADDER, recommendModel } from '@shammah/core-inference';

/** The local model to run, and why. */
export interface LocalModelChoice {
  modelId: string;
  source: 'flag' | 'config' | 'recommended' | 'cached';
  cached: boolean;
}

/**
 * The local model: `--model`, else the config's, else the model recommended for this machine's
 * memory when it is downloaded, else the largest downloaded model of the ladder (so a first run
 * works offline with whatever is there), else the recommendation (to be pulled).
 */
export async function chooseLocalModel(config: ShammahConfig, flag?: string): Promise<LocalModelChoice> {
  const cached = await listCachedModels().catch(() => []);
  const isCached = (id: string) => cached.some((model) => model.repoId === id) || id.startsWith('/');
  if (flag) return { modelId: flag, source: 'flag', cached: isCached(flag) };
  const configured = configuredModel(config);
  if (configured) return { modelId: configured, source: 'config', cached: isCached(configured) };
  const recommended = recommendModel();
  if (isCached(recommended.repoId))
    return { modelId: recommended.repoId, source: 'recommended', cached: true };
  const fallback = MODEL_LADDER.find((choice) => isCached(choice.repoId));
  if (fallback) return { modelId: fallback.repoId, source: 'cached', cached: true };
  return { modelId: recommended.repoId, source: 'recommended', cached: false };
}
