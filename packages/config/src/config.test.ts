import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configuredModel,
  loadConfig,
  parseConfig,
  saveConfig,
  setConfigValue,
} from './config.js';
import { shammahHome, shammahPaths } from './paths.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'shammah-home-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('config.toml', () => {
  it("loads the original Shammah's config file without edits", async () => {
    const path = join(home, 'config.toml');
    await writeFile(path, await readFile(join(import.meta.dirname, 'fixtures', 'original-config.toml')));
    const config = await loadConfig({ path });
    expect(config.backend.model_repo).toBe('onnx-community/Qwen2.5-1.5B-Instruct');
    expect(config.teachers).toEqual([
      {
        provider: 'claude',
        api_key: 'sk-ant-...',
        model: 'claude-sonnet-4-20250514',
        base_url: 'https://...',
        name: 'Claude',
      },
    ]);
    expect(config.client.daemon_address).toBe('127.0.0.1:11435');
    expect(config.server.max_sessions).toBe(100);
    expect(config.mcp_servers.filesystem?.command).toBe('npx');
    expect(config.features.auto_approve_tools).toBe(false);
  });

  it('gives the defaults when there is no file', async () => {
    const config = await loadConfig({ path: join(home, 'missing.toml') });
    expect(config.client).toEqual({
      use_daemon: true,
      daemon_address: '127.0.0.1:11435',
      auto_spawn: true,
      timeout_seconds: 120,
    });
    expect(config.teachers).toEqual([]);
  });

  it('names the file, the line and the fix for an unknown field', () => {
    const text = '[backend]\nenabled = true\nmodle_repo = "x/y"\n';
    try {
      parseConfig(text, '/home/me/.shammah/config.toml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('/home/me/.shammah/config.toml line 3');
      expect(message).toContain('unknown field "modle_repo" in [backend]');
      expect(message).toContain('model_repo');
    }
  });

  it('names the line of a value of the wrong type', () => {
    const text =
      '[[teachers]]\nprovider = "openai"\n\n[[teachers]]\nprovider = "claude"\nmax_retries = "three"\n';
    expect(() => parseConfig(text, 'c.toml')).toThrow(/c\.toml line 6: "max_retries" in \[teachers\]/);
  });

  it('reports TOML syntax errors with their line', () => {
    expect(() => parseConfig('[client]\nauto_spawn = yes\n', 'c.toml')).toThrow(/c\.toml line 2/);
  });

  it('reads the older formats: top-level streaming_enabled and [fallback] tables', () => {
    const config = parseConfig(
      'streaming_enabled = false\n[fallback]\nprovider = "claude"\n[fallback.claude]\napi_key = "k1"\nmodel = "m1"\n[fallback.openai]\napi_key = "k2"\n',
    );
    expect(config.features.streaming_enabled).toBe(false);
    expect(config.teachers.map((teacher) => teacher.provider)).toEqual(['claude', 'openai']);
    expect(config.teachers[0]).toMatchObject({ api_key: 'k1', model: 'm1' });
  });

  it('writes atomically and reads back what it wrote', async () => {
    const path = join(home, 'config.toml');
    const config = setConfigValue(await loadConfig({ path }), 'client.daemon_address', '127.0.0.1:9999');
    await saveConfig(config, { path });
    expect((await loadConfig({ path })).client.daemon_address).toBe('127.0.0.1:9999');
    expect((await readdir(home)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to set a value of the wrong type, naming the key', async () => {
    const config = await loadConfig({ path: join(home, 'none.toml') });
    expect(() => setConfigValue(config, 'server.max_sessions', 'lots')).toThrow(/server\.max_sessions/);
  });

  it('never leaves a torn file when the writer is killed mid-write', async () => {
    const path = join(home, 'config.toml');
    await saveConfig(parseConfig('[client]\ndaemon_address = "127.0.0.1:1"\n'), { path });
    const script = `
      import { saveConfig, parseConfig } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)};
      const big = parseConfig('[client]\\ndaemon_address = "127.0.0.1:2"\\n');
      big.server.api_keys = Array.from({ length: 20000 }, (_, i) => 'key-' + i);
      for (;;) await saveConfig(big, { path: ${JSON.stringify(path)} });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: 'ignore',
    });
    // Wait until the writer has replaced the file at least once, then kill it while it keeps writing.
    const deadline = Date.now() + 20_000;
    while ((await loadConfig({ path })).client.daemon_address !== '127.0.0.1:2') {
      if (Date.now() > deadline) throw new Error('the writer process never wrote');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const config = await loadConfig({ path });
    expect(config.client.daemon_address).toBe('127.0.0.1:2');
    expect(config.server.api_keys).toHaveLength(20000);
  });
});

describe('paths and models', () => {
  it('honours SHAMMAH_HOME', () => {
    expect(shammahHome({ SHAMMAH_HOME: '/x/y' })).toBe('/x/y');
    expect(shammahPaths('/x/y').trainingQueue).toBe('/x/y/training_queue.jsonl');
  });

  it('chooses the model the original would from family and size', () => {
    const config = parseConfig('[backend]\nmodel_family = "Qwen2"\nmodel_size = "Large"\n');
    expect(configuredModel(config)).toBe('onnx-community/Qwen2.5-7B-Instruct');
    expect(configuredModel(parseConfig(''))).toBeUndefined();
  });
});
