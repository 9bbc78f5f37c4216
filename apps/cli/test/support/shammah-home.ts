import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `shammah` command as users run it. */
export const SHAMMAH_BIN = fileURLToPath(new URL('../../bin/shammah.js', import.meta.url));

/** The real development model (in the Hugging Face cache). */
export const TEST_MODEL = process.env.SHAMMAH_TEST_MODEL ?? 'HuggingFaceTB/SmolLM2-135M-Instruct';

/** A Shammah home in a temporary folder, with a config.toml. */
export interface TestHome {
  home: string;
  /** Environment for processes that should use this home. */
  env: Record<string, string>;
  remove(): Promise<void>;
}

/**
 * Makes a temporary SHAMMAH_HOME. The default config runs the real model in-process at full
 * precision (the 4-bit variant of the 135M model rambles), without the daemon.
 */
export async function makeHome(config?: string): Promise<TestHome> {
  const home = await mkdtemp(join(tmpdir(), 'shammah-cli-test-'));
  await writeFile(
    join(home, 'config.toml'),
    config ?? `[backend]\nmodel_repo = "${TEST_MODEL}"\nvariant = "fp32"\n\n[client]\nuse_daemon = false\n`,
  );
  return {
    home,
    env: { SHAMMAH_HOME: home },
    remove: () => rm(home, { recursive: true, force: true }),
  };
}

/** The shell command that runs shammah with arguments. */
export function shammahCommand(...args: string[]): string {
  return ['node', SHAMMAH_BIN, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
}
