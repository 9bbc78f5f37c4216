// The daemon as `shammah-daemon` builds it from config.toml in a temp Shammah home: it serves the
// active LoRA adapter (an adapter directory laid out as the trainer publishes it, holding the real
// SmolLM2's files), checks local answers' confidence at [router] confidence_threshold, keeps routing
// statistics in router_stats.json, and with [lora] learn_from_teachers queues teacher answers. The
// teacher is a real HTTP server on 127.0.0.1 replaying a recorded OpenAI stream.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADAPTER_MANIFEST_FORMAT, createAdapterStore, decodeExampleLine } from '@shammah/lora';
import { silentLogger } from '@shammah/provider';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  createDaemon,
  type Daemon,
  DaemonConfigError,
  daemonSettings,
  resolveServedModel,
  type statusSchema,
  type trainingStatusSchema,
} from '../src/index.js';
import { eventually } from './support/metrics.js';
import { OpenAIStandIn } from './support/openai-stand-in.js';
import { DEV_MODEL, realModelDir } from './support/real-model.js';

let home: string;
let baseDir: string;
let standIn: OpenAIStandIn;
let settings: Awaited<ReturnType<typeof daemonSettings>>;
let daemon: Daemon;
let url: string;

/** Lays out adapter `version` as the trainer publishes it, its merged model being the base model's files. */
async function publishAdapter(version: string, baseSha256: string | null): Promise<string> {
  const dir = join(home, 'adapters', version);
  const modelDir = join(dir, 'model');
  await mkdir(join(modelDir, 'onnx'), { recursive: true });
  await mkdir(join(dir, 'adapter'), { recursive: true });
  for (const entry of await readdir(baseDir, { withFileTypes: true })) {
    if (entry.name === 'onnx') {
      for (const file of await readdir(join(baseDir, 'onnx'))) {
        await symlink(join(baseDir, 'onnx', file), join(modelDir, 'onnx', file));
      }
    } else await symlink(join(baseDir, entry.name), join(modelDir, entry.name));
  }
  const manifest = {
    format: ADAPTER_MANIFEST_FORMAT,
    version,
    created_at: '2026-12-06T00:00:00Z',
    base: { model_id: DEV_MODEL, revision: null, dir: baseDir, sha256: baseSha256 },
    examples: {
      count: 2,
      total_weight: 11,
      by_weight: { '10': 1, '1': 1 },
      ids: ['a', 'b'],
      file: 'examples.jsonl',
    },
    model: { dir: 'model', variants: ['fp32'], files: { fp32: 'onnx/model.onnx' } },
    adapter: { dir: 'adapter' },
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return modelDir;
}

async function baseSha256(): Promise<string> {
  return JSON.parse(await readFile(join(baseDir, 'shammah_manifest.json'), 'utf8')).source.sha256;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'shammah-daemon-settings-'));
  baseDir = await realModelDir();
  standIn = await OpenAIStandIn.start({ answer: 'text' });
  await publishAdapter('v1', await baseSha256());
  await createAdapterStore({ home }).activate('v1');
  await writeFile(
    join(home, 'config.toml'),
    [
      '[backend]',
      `model_path = ${JSON.stringify(baseDir)}`,
      'variant = "fp32"',
      '',
      '[router]',
      // No answer of a 135M model starts this surely: every local answer goes to the teacher.
      'confidence_threshold = 0.999',
      '',
      '[lora]',
      'learn_from_teachers = true',
      '',
      '[[teachers]]',
      'provider = "openai"',
      'api_key = "test-key"',
      'model = "gpt-4.1"',
      `base_url = ${JSON.stringify(standIn.url)}`,
      '',
    ].join('\n'),
  );
  settings = await daemonSettings(
    { home, bind: '127.0.0.1:0', noDownload: true, version: 'test' },
    silentLogger,
  );
  const { dispose: _dispose, ...options } = settings;
  daemon = createDaemon({ ...options, defaultMetrics: false });
  url = (await daemon.listen()).url;
  const ready = await eventually(async () => {
    const health = (await (await fetch(`${url}/health`)).json()) as { model: { state: string } | null };
    return health.model?.state === 'ready';
  }, 90_000);
  expect(ready).toBe(true);
}, 120_000);

afterAll(async () => {
  await daemon?.close();
  await settings?.dispose();
  await standIn?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('the daemon built from config.toml', () => {
  it('serves the active adapter', async () => {
    const status = (await (await fetch(`${url}/v1/status`)).json()) as z.infer<typeof statusSchema>;
    expect(status.model).toMatchObject({
      // Named as configured, plus the adapter's version (the directory it loads is an adapter's).
      id: `${baseDir}+v1`,
      state: 'ready',
      variant: 'fp32',
      served: { kind: 'adapter', version: 'v1', reason: 'adapter v1 is active' },
    });
    const training = (await (await fetch(`${url}/v1/training/status`)).json()) as z.infer<
      typeof trainingStatusSchema
    >;
    expect(training.adapters).toMatchObject({
      active: 'v1',
      served: { kind: 'adapter', version: 'v1' },
      versions: [{ version: 'v1', active: true, examples: 2 }],
    });
  });

  it('sends unlikely local answers to the teacher ([router] confidence_threshold)', async () => {
    const status = (await (await fetch(`${url}/v1/status`)).json()) as z.infer<typeof statusSchema>;
    expect(status.confidence).toEqual({ tokens: 16, minMeanLogprob: Math.log(0.999), minTokenLogprob: null });
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await openai.chat.completions
      .create({ model: 'shammah', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .withResponse();
    expect(response.headers.get('x-shammah-route')).toBe('teacher');
    expect(response.headers.get('x-shammah-reason')).toBe('low-confidence');
    expect(data.choices[0]!.message.content).toBe('The capital of France is Paris.');
  });

  it('queues the teacher answer for training ([lora] learn_from_teachers)', async () => {
    const path = join(home, 'training_queue.jsonl');
    expect(
      await eventually(() =>
        stat(path).then(
          () => true,
          () => false,
        ),
      ),
    ).toBe(true);
    const examples = (await readFile(path, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => decodeExampleLine(line));
    expect(examples).toMatchObject([
      {
        source: 'teacher-answer',
        weight: 1,
        messages: [{ role: 'user', content: 'What is the capital of France?' }],
        response: 'The capital of France is Paris.',
      },
    ]);
  });

  it('keeps routing statistics in router_stats.json in Shammah home', async () => {
    // A local answer escalated for low confidence counts against its category.
    await daemon.close();
    await settings.dispose();
    const saved = JSON.parse(await readFile(join(home, 'router_stats.json'), 'utf8'));
    expect(Object.values(saved.categories)).toEqual([expect.objectContaining({ failures: 1 })]);
  });
});

describe('which model directory the daemon loads', () => {
  it('is the base model after a rollback, or when the adapter was trained on other weights', async () => {
    const adapters = createAdapterStore({ home });
    await adapters.rollback();
    expect(await resolveServedModel({ model: baseDir, adapters })).toMatchObject({
      load: baseDir,
      baseDir,
      resolved: { kind: 'base', reason: 'no adapter is active' },
    });
    await publishAdapter('v2', 'b'.repeat(64));
    await adapters.activate('v2');
    const served = await resolveServedModel({ model: baseDir, adapters });
    expect(served.load).toBe(baseDir);
    expect(served.resolved.reason).toMatch(/trained on other base weights/);
    await adapters.activate('v1');
    expect((await resolveServedModel({ model: baseDir, adapters })).load).toBe(
      join(home, 'adapters', 'v1', 'model'),
    );
  });

  it('is the repository id itself while the model is not downloaded', async () => {
    const adapters = createAdapterStore({ home });
    expect(
      await resolveServedModel({ model: 'Nobody/not-downloaded', adapters, cacheDir: home }),
    ).toMatchObject({
      load: 'Nobody/not-downloaded',
      baseDir: undefined,
      resolved: { kind: 'base' },
    });
  });
});

describe('[router] confidence_threshold', () => {
  it('refuses a value the check cannot use, saying what to write', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'shammah-daemon-settings-bad-'));
    try {
      await writeFile(
        join(bad, 'config.toml'),
        '[backend]\nenabled = false\n\n[router]\nconfidence_threshold = 1.5\n',
      );
      const error = await daemonSettings({ home: bad, version: 'test' }, silentLogger).catch(
        (caught) => caught,
      );
      expect(error).toBeInstanceOf(DaemonConfigError);
      expect(error.message).toContain('confidence_threshold = 1.5');
      expect(error.message).toContain('probability between 0 and 1');
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
