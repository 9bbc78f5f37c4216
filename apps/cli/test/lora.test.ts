import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTestAdapter, queueLine } from './support/adapters.js';
import { makeHome, runShammah, SHAMMAH_BIN, TEST_MODEL, type TestHome } from './support/shammah-home.js';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

describe('shammah lora list | use | rollback', () => {
  let home: TestHome;

  beforeAll(async () => {
    home = await makeHome();
  });
  afterAll(async () => {
    await home.remove();
  });

  it('lists adapters with version, date and examples, marks the served one, and switches between them', async () => {
    const empty = await runShammah(['lora', 'list'], { env: home.env });
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('No adapters yet.');
    expect(empty.stdout).toContain(`* base     ${TEST_MODEL} (no adapter active)`);

    await publishTestAdapter(home.home, 'v1', { createdAt: '2026-01-02T03:04:00Z', weights: [10, 1] });
    await publishTestAdapter(home.home, 'v2', { createdAt: '2026-02-03T04:05:00Z', weights: [10, 3, 1, 1] });
    await writeFile(
      join(home.home, 'training_queue.jsonl'),
      queueLine('v2-example-0', 'Which port?', '11435') +
        queueLine('fresh-1', 'What is Shammah?', 'A local assistant.'),
    );

    const listed = await runShammah(['lora', 'list'], { env: home.env });
    expect(listed.code).toBe(0);
    // Newest first; nothing served yet.
    expect(listed.stdout).toMatch(
      / {2}v2 +2026-02-0\d \d\d:\d\d +4 \(10×1, 3×1, 1×2\) +3\.21 → 1\.05\n {2}v1 +2026-01-0\d/,
    );
    expect(listed.stdout).toContain(`* base     ${TEST_MODEL}`);
    expect(listed.stdout).toContain('Queue: 2 examples, 1 not trained on yet');

    const used = await runShammah(['lora', 'use', 'v1'], { env: home.env });
    expect(used.code).toBe(0);
    expect(used.stdout).toContain('Now serving adapter v1');
    const pointer = JSON.parse(await readFile(join(home.home, 'adapters', 'active'), 'utf8'));
    expect(pointer).toMatchObject({ version: 'v1', previous: null });
    const afterUse = await runShammah(['lora', 'list', '--json'], { env: home.env });
    const json = JSON.parse(afterUse.stdout) as {
      active: string;
      served: { adapter: string | null };
      adapters: Array<{ version: string; active: boolean; examples: number }>;
    };
    expect(json.active).toBe('v1');
    expect(json.served.adapter).toBe('v1');
    expect(json.adapters.map((adapter) => [adapter.version, adapter.active, adapter.examples])).toEqual([
      ['v1', true, 2],
      ['v2', false, 4],
    ]);
    expect((await runShammah(['lora', 'list'], { env: home.env })).stdout).toMatch(/\* v1 /);

    const unknown = await runShammah(['lora', 'use', 'v7'], { env: home.env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'There is no adapter "v7". Available: v1, v2 (see `shammah lora list`).',
    );
    expect(JSON.parse(await readFile(join(home.home, 'adapters', 'active'), 'utf8')).version).toBe('v1');

    const back = await runShammah(['lora', 'rollback'], { env: home.env });
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('Rolled back from v1 to the base model.');
    const rolled = await runShammah(['lora', 'list'], { env: home.env });
    expect(rolled.stdout).not.toMatch(/\* v\d/);
    expect(rolled.stdout).toContain(`* base     ${TEST_MODEL} (no adapter active)`);
  });

  it('says so when the active adapter was trained on other weights and serves the base model', async () => {
    const other = await makeHome();
    try {
      await publishTestAdapter(other.home, 'v1', { baseSha256: 'f'.repeat(64) });
      expect((await runShammah(['lora', 'use', 'v1'], { env: other.env })).code).toBe(0);
      const listed = await runShammah(['lora', 'list'], { env: other.env });
      expect(listed.stdout).toMatch(/\* v1 /);
      expect(listed.stdout).toMatch(
        /Note: adapter v1 was trained on other base weights than .*; the base model is served\./,
      );
    } finally {
      await other.remove();
    }
  });

  it('explains bad input', async () => {
    const noVersion = await runShammah(['lora', 'use'], { env: home.env });
    expect(noVersion.code).toBe(2);
    expect(noVersion.stderr).toContain('Usage: shammah lora use <version>');
    const unknown = await runShammah(['lora', 'retrain'], { env: home.env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'Unknown lora action "retrain". Use list, train, use <version> or rollback.',
    );
    const steps = await runShammah(['lora', 'train', '--max-steps', 'many'], { env: home.env });
    expect(steps.code).toBe(2);
    expect(steps.stderr).toContain('--max-steps must be a positive whole number, not "many".');
  });
});

describe('the local model serves the active adapter', () => {
  let home: TestHome;

  beforeAll(async () => {
    home = await makeHome();
    await publishTestAdapter(home.home, 'v1');
  });
  afterAll(async () => {
    await home.remove();
  });

  it('loads the adapter model after lora use, and the base model after lora rollback', async () => {
    expect((await runShammah(['lora', 'use', 'v1'], { env: home.env })).code).toBe(0);
    const adapted = await runShammah(['--json', '--local', '--debug', '--max-tokens', '8', 'What is 2+2?'], {
      env: home.env,
    });
    expect(adapted.code).toBe(0);
    expect(JSON.parse(adapted.stdout)).toMatchObject({ route: 'local', model: `${TEST_MODEL} + v1` });
    const log = await readFile(join(home.home, 'cli.log'), 'utf8');
    expect(log).toContain(join(home.home, 'adapters', 'v1', 'model'));

    expect((await runShammah(['lora', 'rollback'], { env: home.env })).code).toBe(0);
    const base = await runShammah(['--json', '--local', '--max-tokens', '8', 'What is 2+2?'], {
      env: home.env,
    });
    expect(base.code).toBe(0);
    expect(JSON.parse(base.stdout)).toMatchObject({ route: 'local', model: TEST_MODEL });
  });
});

describe('shammah lora train', () => {
  let home: TestHome;

  beforeAll(async () => {
    home = await makeHome();
  });
  afterAll(async () => {
    await home.remove();
  });

  it('says what to do when nothing is queued, or nothing new since the newest adapter', async () => {
    const empty = await runShammah(['lora', 'train'], { env: home.env });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('holds no usable examples. Give feedback on some answers first');

    await publishTestAdapter(home.home, 'v1', { ids: ['seen-1'] });
    await writeFile(join(home.home, 'training_queue.jsonl'), queueLine('seen-1', 'Which port?', '11435'));
    const stale = await runShammah(['lora', 'train'], { env: home.env });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(
      'nothing new to train on: the 1 queued example is all in v1. Give more feedback first, or pass --force',
    );
  });

  it('says how to set up the Python trainer when it is missing', async () => {
    const other = await makeHome();
    const notTraining = await mkdtemp(join(tmpdir(), 'shammah-no-trainer-'));
    try {
      await writeFile(join(other.home, 'training_queue.jsonl'), queueLine('a', 'Which port?', '11435'));
      const result = await runShammah(['lora', 'train'], {
        env: { ...other.env, SHAMMAH_TRAINING_DIR: notTraining },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`and ${notTraining} does not hold it`);
      expect(result.stderr).toContain('run `bash scripts/setup-python.sh` there');
      expect(await exists(join(other.home, 'adapters', 'v1'))).toBe(false);
    } finally {
      await other.remove();
      await rm(notTraining, { recursive: true, force: true });
    }
  });

  it('Ctrl-C stops the real trainer cleanly: nothing published, the served model unchanged', async () => {
    const other = await makeHome();
    try {
      await writeFile(
        join(other.home, 'training_queue.jsonl'),
        queueLine('a', 'Which port does the Shammah daemon listen on?', '127.0.0.1:11435') +
          queueLine('b', 'What is Shammah?', 'A local-first coding assistant.', 1),
      );
      await mkdir(join(other.home, 'adapters'), { recursive: true });
      const child = spawn(process.execPath, [SHAMMAH_BIN, 'lora', 'train'], {
        env: { ...process.env, ...other.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      const started = new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          // The trainer is running (and has its signal handlers) once it reports its first phase.
          if (stderr.includes('Preparing the base model…')) resolve();
        });
        child.once('exit', () => reject(new Error(`shammah lora train ended early: ${stderr}`)));
      });
      await started;
      expect(stderr).toContain(
        'Training v1 on 2 examples (2 new) with HuggingFaceTB/SmolLM2-135M-Instruct. Ctrl-C cancels.',
      );
      const code = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      expect(await code).toBe(130);
      expect(stderr).toContain('Cancelling…');
      expect(stderr).toContain('Cancelled: nothing was published and the served model is unchanged.');
      const left = (await readdir(join(other.home, 'adapters'))).filter((name) => !name.startsWith('_'));
      expect(left.filter((name) => /^\.?v1/.test(name))).toEqual([]);
      expect(await exists(join(other.home, 'adapters', 'active'))).toBe(false);
      expect(await exists(join(other.home, 'adapters', '.training.lock'))).toBe(false);
    } finally {
      await other.remove();
    }
  }, 120_000);
});
