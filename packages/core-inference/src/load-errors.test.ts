import { cp, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptModelError, UnsupportedModelError } from './errors.js';
import { Generator } from './generator.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama');

describe('loading a damaged model', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function copy(): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), 'shammah-damaged-'));
    await cp(tiny, dir, { recursive: true });
    return dir;
  }

  it('says a truncated ONNX file is damaged and how to fix it', async () => {
    const model = join(await copy(), 'onnx', 'model.onnx');
    const handle = await open(model, 'r+');
    await handle.truncate(Math.floor((await stat(model)).size / 3));
    await handle.close();
    const generator = Generator.create({ model: dir, variant: 'fp32' });
    const error = await generator.ready().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(CorruptModelError);
    expect((error as Error).message).toMatch(/damaged or incomplete.*download it again/);
    expect(generator.status.state).toBe('failed');
  });

  it('says a broken config.json is damaged', async () => {
    await writeFile(join(await copy(), 'config.json'), '{"model_type": "llama",');
    await expect(Generator.load({ model: dir })).rejects.toBeInstanceOf(CorruptModelError);
  });

  it('names the architecture it cannot run', async () => {
    await writeFile(join(await copy(), 'config.json'), '{"model_type": "whisper"}');
    await expect(Generator.load({ model: dir })).rejects.toThrow(UnsupportedModelError);
    await expect(Generator.load({ model: dir })).rejects.toThrow(/"whisper" model; Shammah runs qwen2/);
  });
});
