import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdapterStore } from './adapter-store.js';
import { AdapterActiveError, AdapterNotFoundError, CorruptAdapterError } from './errors.js';
import { publishAdapter } from './test-support/adapters.js';

let root: string;
let store: AdapterStore;
let baseDir: string;
const BASE_SHA = 'a'.repeat(64);

/** Publishes a stand-in adapter trained on `baseSha` (the runtime's base unless given). */
function publish(version: string, baseSha = BASE_SHA): Promise<string> {
  return publishAdapter(store.dir, version, { baseDir, baseSha256: baseSha });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'shammah-adapters-'));
  store = new AdapterStore({ home: root });
  baseDir = join(root, 'hub', 'models--Org--Model', 'snapshots', 'rev1');
  await mkdir(baseDir, { recursive: true });
  await writeFile(join(baseDir, 'shammah_manifest.json'), JSON.stringify({ source: { sha256: BASE_SHA } }));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('AdapterStore', () => {
  it('lives in <home>/adapters and starts on the base model', async () => {
    expect(store.dir).toBe(join(root, 'adapters'));
    expect(await store.list()).toEqual([]);
    expect(await store.active()).toBeUndefined();
    expect(await store.resolveModel({ dir: baseDir })).toEqual({
      kind: 'base',
      dir: baseDir,
      reason: 'no adapter is active',
    });
    expect(await store.nextVersion()).toBe('v1');
  });

  it('lists complete adapters by version number, skipping incomplete ones and staging directories', async () => {
    await publish('v2');
    await publish('v10');
    await publish('v1');
    const broken = await publish('v3');
    await rm(join(broken, 'model', 'onnx', 'model.onnx'));
    await mkdir(join(store.dir, '.v11.tmp-123-abc'), { recursive: true });
    await mkdir(join(store.dir, '_base'), { recursive: true });
    expect((await store.list()).map((a) => a.version)).toEqual(['v1', 'v2', 'v10']);
    expect((await store.latest())?.version).toBe('v10');
    // A run in progress has claimed v11.
    expect(await store.nextVersion()).toBe('v12');
    await expect(store.get('v3')).rejects.toThrow(CorruptAdapterError);
    await expect(store.get('v3')).rejects.toThrow(/incomplete: .*model\.onnx is missing/);
  });

  it('activates an adapter through an atomically written pointer; the runtime then loads its model', async () => {
    const dir = await publish('v1');
    await publish('v2');
    const adapter = await store.activate('v1');
    expect(adapter).toMatchObject({ version: 'v1', active: true, modelDir: join(dir, 'model') });
    expect(JSON.parse(await readFile(store.pointerPath, 'utf8'))).toMatchObject({
      version: 'v1',
      previous: null,
    });
    expect(await store.activeModelDir({ dir: baseDir })).toBe(join(dir, 'model'));
    expect((await store.list()).map((a) => [a.version, a.active])).toEqual([
      ['v1', true],
      ['v2', false],
    ]);
    await store.activate('v2');
    expect((await store.readPointer()).previous).toBe('v1');
  });

  it('rolls back to the base model', async () => {
    await publish('v1');
    await store.activate('v1');
    const pointer = await store.rollback();
    expect(pointer).toMatchObject({ version: null, previous: 'v1' });
    expect(await store.active()).toBeUndefined();
    expect(await store.activeModelDir({ dir: baseDir })).toBe(baseDir);
  });

  it('refuses unknown versions, listing the ones there are', async () => {
    await publish('v1');
    const error = await store.activate('v7').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AdapterNotFoundError);
    expect((error as Error).message).toBe(
      'There is no adapter "v7". Available: v1 (see `shammah lora list`).',
    );
    await expect(store.activate('../etc')).rejects.toBeInstanceOf(AdapterNotFoundError);
  });

  it('serves the base model when the active adapter was trained on other weights or has vanished', async () => {
    await publish('v1', 'b'.repeat(64));
    await store.activate('v1');
    const resolved = await store.resolveModel({ dir: baseDir });
    expect(resolved.kind).toBe('base');
    expect(resolved.reason).toMatch(/trained on other base weights/);

    await publish('v2');
    await store.activate('v2');
    await rm(join(store.dir, 'v2'), { recursive: true });
    expect(await store.resolveModel({ dir: baseDir })).toMatchObject({
      kind: 'base',
      dir: baseDir,
      reason: expect.stringMatching(/adapter v2 is unusable/),
    });
  });

  it('removes and prunes old adapters, never the active one', async () => {
    for (const version of ['v1', 'v2', 'v3', 'v4', 'v5']) await publish(version);
    await store.activate('v1');
    await expect(store.remove('v1')).rejects.toBeInstanceOf(AdapterActiveError);
    await store.remove('v5');
    expect(await store.prune(2)).toEqual(['v2']);
    expect((await store.list()).map((a) => a.version)).toEqual(['v1', 'v3', 'v4']);
  });
});
