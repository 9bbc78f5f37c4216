import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCachedModels, snapshotDir } from '@shammah/core-inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubStandIn } from './support/hub-stand-in.js';
import { makeHome, runShammah, TEST_MODEL, type TestHome } from './support/shammah-home.js';

describe('shammah models', () => {
  let hub: HubStandIn;
  let home: TestHome;
  let cache: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    // The Hub stand-in serves the real development model's files, from the machine's cache.
    const snapshot = await snapshotDir(TEST_MODEL);
    if (!snapshot) throw new Error(`${TEST_MODEL} must be in the Hugging Face cache for these tests.`);
    hub = await HubStandIn.start(TEST_MODEL, snapshot);
    home = await makeHome('');
    cache = await mkdtemp(join(tmpdir(), 'shammah-hub-cache-'));
    env = { ...home.env, HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url };
  });
  afterAll(async () => {
    await hub.close();
    await home.remove();
    await rm(cache, { recursive: true, force: true });
  });

  it('lists the downloaded models and the ladder with sizes', async () => {
    const result = await runShammah(['models', 'list'], { env: home.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^ {2}${TEST_MODEL.replace(/[/.]/g, '\\$&')} +[\\d.]+ [MG]B +.*fp32`, 'm'),
    );
    expect(result.stdout).toMatch(/onnx-community\/Qwen2\.5-7B-Instruct +7B +~5\.2 GB +32 GB RAM/);
  });

  it('pulls a model with a progress bar, and the model then answers', async () => {
    const pulled = await runShammah(['models', 'pull', TEST_MODEL, '--variant', 'int8'], { env });
    expect(pulled.code).toBe(0);
    // Not a terminal: a progress line every 10%, ending at 100%.
    const lines = pulled.stderr.split('\n').filter((line) => line.startsWith('['));
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.at(-1)).toMatch(/^\[#{30}\] 100% {2}\d+ MB \/ \d+ MB/);
    expect(pulled.stderr).toMatch(new RegExp(`Downloaded ${TEST_MODEL.replace(/[/.]/g, '\\$&')} to `));
    expect(hub.requests).toContain(`/${TEST_MODEL}/resolve/${'a'.repeat(40)}/onnx/model_int8.onnx`);
    const [model] = await listCachedModels(cache);
    expect(model).toMatchObject({ repoId: TEST_MODEL, variants: ['model_int8.onnx'] });

    const listed = await runShammah(['models'], { env });
    expect(listed.stdout).toMatch(/SmolLM2-135M-Instruct +\d+ MB +int8/);

    const answer = await runShammah(
      ['--local', '--model', TEST_MODEL, '--variant', 'int8', 'What is the capital of France?'],
      {
        env,
      },
    );
    expect(answer.code).toBe(0);
    expect(answer.stdout.trim().length).toBeGreaterThan(0);
  });

  it('removes a model, and says so when there is nothing to remove', async () => {
    const removed = await runShammah(['models', 'rm', TEST_MODEL], { env });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(`Removed ${TEST_MODEL}.\n`);
    expect(await readdir(cache)).not.toContain('models--HuggingFaceTB--SmolLM2-135M-Instruct');
    const again = await runShammah(['models', 'rm', TEST_MODEL], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not downloaded');
  });

  it('explains an unknown repository', async () => {
    const result = await runShammah(['models', 'pull', 'nobody/nothing'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/The Hub answered 404 for nobody\/nothing@main\. Check the repository id/);
  });
});
