import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { snapshotDir } from '@shammah/core-inference';
import { ADAPTER_MANIFEST_FORMAT, createExample, encodeExampleLine } from '@shammah/lora';
import { TEST_MODEL } from './shammah-home.js';

/** The real development model's directory in the Hugging Face cache. */
export async function testModelDir(): Promise<string> {
  const dir = TEST_MODEL.startsWith('/') ? TEST_MODEL : await snapshotDir(TEST_MODEL);
  if (!dir) throw new Error(`${TEST_MODEL} is not in the Hugging Face cache; run \`pnpm models:dev\`.`);
  return dir;
}

/** sha256 of the weights the runtime model was converted from (its `shammah_manifest.json`). */
async function sourceSha256(modelDir: string): Promise<string | null> {
  try {
    const manifest = JSON.parse(await readFile(join(modelDir, 'shammah_manifest.json'), 'utf8')) as {
      source?: { sha256?: string };
    };
    return manifest.source?.sha256 ?? null;
  } catch {
    return null;
  }
}

/**
 * Publishes an adapter in `<home>/adapters/<version>/` as the trainer lays it out, without training
 * (which takes minutes): its `model/` links to the real model's files (the merged model of an
 * adapter with zero weights is the base model), and its manifest names the real base weights,
 * unless `baseSha256` says it was trained on other ones.
 */
export async function publishTestAdapter(
  home: string,
  version: string,
  options: { createdAt?: string; weights?: number[]; baseSha256?: string; ids?: string[] } = {},
): Promise<string> {
  const base = await testModelDir();
  const dir = join(home, 'adapters', version);
  const modelDir = join(dir, 'model');
  await mkdir(join(modelDir, 'onnx'), { recursive: true });
  await mkdir(join(dir, 'adapter'), { recursive: true });
  for (const name of await readdir(base)) {
    if (name.endsWith('.json') || name.endsWith('.jinja'))
      await symlink(join(base, name), join(modelDir, name));
  }
  await symlink(join(base, 'onnx', 'model.onnx'), join(modelDir, 'onnx', 'model.onnx'));
  const weights = options.weights ?? [10, 1];
  const ids = options.ids ?? weights.map((_, index) => `${version}-example-${index}`);
  const byWeight: Record<string, number> = {};
  for (const weight of weights) byWeight[String(weight)] = (byWeight[String(weight)] ?? 0) + 1;
  const manifest = {
    format: ADAPTER_MANIFEST_FORMAT,
    version,
    created_at: options.createdAt ?? '2026-01-02T03:04:00Z',
    trainer_version: 'test',
    base: {
      model_id: TEST_MODEL,
      revision: null,
      dir: base,
      sha256: options.baseSha256 ?? (await sourceSha256(base)),
    },
    examples: {
      count: ids.length,
      total_weight: weights.reduce((sum, weight) => sum + weight, 0),
      by_weight: byWeight,
      ids,
      file: 'examples.jsonl',
      sha256: '',
    },
    hyperparameters: { epochs: 3, learning_rate: 5e-4, rank: 8, alpha: 16 },
    metrics: { steps: 4, loss_first_epoch: 3.21, loss_last_epoch: 1.05 },
    model: { dir: 'model', variants: ['fp32'], files: { fp32: 'onnx/model.onnx' } },
    adapter: { dir: 'adapter' },
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** A line of the training queue, as `/critical` writes it. */
export function queueLine(id: string, query: string, response: string, weight = 10): string {
  return encodeExampleLine(createExample({ id, query, response, weight }));
}
