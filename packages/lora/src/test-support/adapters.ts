import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADAPTER_MANIFEST_FORMAT } from '../adapter-manifest.js';

/**
 * Lays out an adapter directory as the trainer publishes it (manifest, merged model files, adapter),
 * without training: for tests of what reads that layout. `ids` are the examples it was trained on.
 */
export async function publishAdapter(
  adaptersDir: string,
  version: string,
  options: { baseDir?: string; baseSha256?: string; ids?: string[] } = {},
): Promise<string> {
  const dir = join(adaptersDir, version);
  await mkdir(join(dir, 'model', 'onnx'), { recursive: true });
  await mkdir(join(dir, 'adapter'), { recursive: true });
  for (const name of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) {
    await writeFile(join(dir, 'model', name), '{}');
  }
  const ids = options.ids ?? [`${version}-a`];
  const manifest = {
    format: ADAPTER_MANIFEST_FORMAT,
    version,
    created_at: '2025-01-01T00:00:00Z',
    base: {
      model_id: 'Org/Model',
      revision: 'rev1',
      dir: options.baseDir ?? null,
      sha256: options.baseSha256 ?? null,
    },
    examples: {
      count: ids.length,
      total_weight: ids.length,
      by_weight: { '1': ids.length },
      ids,
      file: 'examples.jsonl',
      sha256: '',
    },
    hyperparameters: { epochs: 3, learning_rate: 5e-4, rank: 8, alpha: 16 },
    metrics: { steps: 10 },
    model: { dir: 'model', variants: ['fp32'], files: { fp32: 'onnx/model.onnx' } },
    adapter: { dir: 'adapter' },
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}
