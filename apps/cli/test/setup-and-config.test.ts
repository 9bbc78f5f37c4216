import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '@shammah/config';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, runShammah, shammahCommand, TEST_MODEL, type TestHome } from './support/shammah-home.js';
import { STAND_IN_MODEL, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

describe('shammah setup, the wizard', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    teacher = await TeacherStandIn.start(() => ({ text: 'unused' }));
    // An earlier config: its choices are the wizard's starting answers.
    home = await makeHome(
      `[backend]\nmodel_repo = "${TEST_MODEL}"\nvariant = "fp32"\n\n[client]\nuse_daemon = false\n`,
    );
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await teacher.close();
    await home.remove();
  });

  it('configures a teacher with a checked key, the local model and permissions, and writes config.toml', async () => {
    const term = await TmuxTerminal.start({ command: shammahCommand('setup'), env: home.env });
    terminal = term;
    await term.waitFor('Teachers: cloud models');
    // The last provider: an OpenAI-compatible server (the stand-in).
    for (let index = 0; index < 6; index++) await term.press('Down');
    await term.press('Space', 'Enter');
    await term.waitFor("the server's address");
    await term.type(teacher.baseUrl);
    await term.press('Enter');
    await term.waitFor('OpenAI-compatible server (Ollama, vLLM, LM Studio, …): model');
    await term.type(STAND_IN_MODEL);
    await term.press('Enter');
    await term.waitFor('API key');
    await term.type('sk-test-wrong');
    await term.press('Enter');
    const rejected = await term.waitFor('Enter it again?');
    expect(rejected).toMatch(/The key was rejected \(127\.0\.0\.1:\d+ answered 401\)/);
    await term.press('Enter');
    await term.waitFor(/API key \(Enter keeps|API key \(Enter for none\)/);
    await term.type('sk-test-valid');
    await term.press('Enter');
    await term.waitFor('The key works.');
    // The model and the variant start at the config's answers.
    const models = await term.waitFor('Local model (this machine has');
    expect(models).toMatch(/● HuggingFaceTB\/SmolLM2-135M-Instruct · 135M · downloaded · any RAM/);
    expect(models).toMatch(/onnx-community\/Qwen2\.5-1\.5B-Instruct · 1\.5B · ~1\.3 GB · 8 GB RAM/);
    await term.press('Enter');
    await term.waitFor('Model precision');
    await term.press('Enter');
    await term.waitFor('Tool permissions');
    await term.press('Down', 'Enter');
    await term.waitFor('background daemon?');
    await term.press('Enter');
    const summary = await term.waitFor('config.toml?');
    expect(summary).toMatch(new RegExp(`Teachers: +OpenAI-compatible server \\(${STAND_IN_MODEL}\\)`));
    expect(summary).toMatch(/Local model: +HuggingFaceTB\/SmolLM2-135M-Instruct \(fp32\)/);
    await term.press('Enter');
    expect(await term.exitCode()).toBe(0);

    const path = join(home.home, 'config.toml');
    const config = parseConfig(await readFile(path, 'utf8'));
    expect(config.teachers).toEqual([
      {
        provider: 'openai-compatible',
        name: 'OpenAI-compatible server',
        base_url: teacher.baseUrl,
        model: STAND_IN_MODEL,
        api_key: 'sk-test-valid',
      },
    ]);
    expect(config.backend).toMatchObject({ model_repo: TEST_MODEL, variant: 'fp32', enabled: true });
    expect(config.permissions).toEqual([
      { tool: 'Write', pattern: '**', action: 'allow' },
      { tool: 'Edit', pattern: '**', action: 'allow' },
    ]);
    expect(config.client.use_daemon).toBe(false);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('refuses to ask questions without a terminal, and --yes writes the defaults', async () => {
    const fresh = await makeHome('');
    try {
      const piped = await runShammah(['setup'], { env: fresh.env });
      expect(piped.code).toBe(2);
      expect(piped.stderr).toContain('setup asks questions and needs a terminal');
      const yes = await runShammah(['setup', '--yes'], { env: fresh.env });
      expect(yes.code).toBe(0);
      const config = parseConfig(await readFile(join(fresh.home, 'config.toml'), 'utf8'));
      // A downloaded model of the ladder is chosen, so the first run works offline.
      expect(config.backend.model_repo).toBe(TEST_MODEL);
    } finally {
      await fresh.remove();
    }
  });
});

describe('shammah config', () => {
  let home: TestHome;
  beforeAll(async () => {
    home = await makeHome('[[teachers]]\nprovider = "claude"\napi_key = "sk-ant-api03-abcdefghijklmnop"\n');
  });
  afterAll(async () => {
    await home.remove();
  });

  it('prints its path, shows values with keys masked, and sets values with validation', async () => {
    const path = await runShammah(['config', 'path'], { env: home.env });
    expect(path.stdout).toBe(`${join(home.home, 'config.toml')}\n`);

    const show = await runShammah(['config', 'show'], { env: home.env });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('[backend]');
    expect(show.stdout).toContain('api_key = "sk-ant…mnop"');
    expect(show.stdout).not.toContain('abcdefghijklmnop');

    expect((await runShammah(['config', 'get', 'client.daemon_address'], { env: home.env })).stdout).toBe(
      '127.0.0.1:11435\n',
    );
    expect((await runShammah(['config', 'get', 'teachers.0.api_key'], { env: home.env })).stdout).toBe(
      'sk-ant…mnop\n',
    );

    const set = await runShammah(['config', 'set', 'client.use_daemon', 'false'], { env: home.env });
    expect(set.code).toBe(0);
    expect((await runShammah(['config', 'get', 'client.use_daemon'], { env: home.env })).stdout).toBe(
      'false\n',
    );
    const file = parseConfig(await readFile(join(home.home, 'config.toml'), 'utf8'));
    expect(file.client.use_daemon).toBe(false);
    expect(file.teachers[0]!.api_key).toBe('sk-ant-api03-abcdefghijklmnop');

    const bad = await runShammah(['config', 'set', 'client.timeout_seconds', '-5'], { env: home.env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^shammah: config: cannot set client\.timeout_seconds to -5: "timeout_seconds" in \[client\]/,
    );
  });

  it('reports a broken config.toml with the line and the fix', async () => {
    const broken = await makeHome('[client]\nuse_daemon = maybe\n');
    try {
      const result = await runShammah(['config', 'show'], { env: broken.env });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/config\.toml line 2: .*fix the TOML syntax there/);
      await writeFile(join(broken.home, 'config.toml'), '[client]\nuse_daemn = false\n');
      const typo = await runShammah(['config', 'show'], { env: broken.env });
      expect(typo.stderr).toMatch(/line 2: unknown field "use_daemn" in \[client\]/);
    } finally {
      await broken.remove();
    }
  });
});
