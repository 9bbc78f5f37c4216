import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from './errors.js';
import { chooseVariant, readModelFiles } from './model-files.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama');

describe('choosing a variant', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prefers the quantized graph on auto, and any variant by name', async () => {
    const files = await readModelFiles(tiny);
    expect(chooseVariant(files).variant).toBe('q4');
    expect(chooseVariant(files, 'fp32').path).toBe(join(tiny, 'onnx', 'model.onnx'));
    expect(() => chooseVariant(files, 'int8')).toThrow(ModelNotFoundError);
    expect(() => chooseVariant(files, 'int8')).toThrow(/has no "int8" variant; it has q4, fp32/);
  });

  it('passes over a variant whose recorded quality check failed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shammah-variants-'));
    await cp(tiny, dir, { recursive: true });
    const manifestPath = join(dir, 'shammah_manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.variants.q4.quality = { passed: false, top1_agreement: 0.66, mean_kl: 0.44 };
    await writeFile(manifestPath, JSON.stringify(manifest));
    const files = await readModelFiles(dir);
    expect(chooseVariant(files).variant).toBe('fp32');
    expect(chooseVariant(files, 'q4').variant).toBe('q4');
  });
});
