import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `shammah` command as users run it. */
export const SHAMMAH_BIN = fileURLToPath(new URL('../../bin/shammah.cjs', import.meta.url));

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

/** What a finished shammah process printed. */
export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs shammah with pipes (no terminal), feeding `input` on standard input. */
export async function runShammah(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHAMMAH_BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`shammah ${args.join(' ')} did not finish in time.\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
