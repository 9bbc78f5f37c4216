import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBashTool } from './bash-tool.js';
import { waitUntilGone } from './test-support/processes.js';
import { contextFor, tempDirectory } from './test-support/temp-project.js';
import type { ToolOutputChunk } from './tool.js';

describe('Bash', () => {
  const bash = createBashTool();

  it('runs in the working directory and returns exit code, stdout and stderr', async () => {
    const root = await tempDirectory();
    const result = await bash.execute({ command: 'pwd; echo oops >&2; exit 3' }, contextFor(root));
    expect(result.data).toMatchObject({
      exitCode: 3,
      stdout: `${root}\n`,
      stderr: 'oops\n',
      timedOut: false,
    });
    expect(result.text).toBe(`${root}\n[stderr]\noops\n[exit code 3]`);
    expect(result.isError).toBe(true);
    const ok = await bash.execute({ command: 'echo fine' }, contextFor(root));
    expect(ok).toMatchObject({ text: 'fine\n[exit code 0]', isError: false });
  });

  it('streams output while the command runs', async () => {
    const root = await tempDirectory();
    const chunks: Array<ToolOutputChunk & { at: number }> = [];
    const started = Date.now();
    const result = await bash.execute(
      { command: 'echo first; sleep 0.5; echo second >&2' },
      contextFor(root, { onOutput: (chunk) => chunks.push({ ...chunk, at: Date.now() - started }) }),
    );
    expect(chunks.map(({ stream, text }) => [stream, text])).toEqual([
      ['stdout', 'first\n'],
      ['stderr', 'second\n'],
    ]);
    expect(chunks[0]!.at).toBeLessThan(result.data!.durationMs - 300);
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const root = await tempDirectory();
    let grandchild: number | undefined;
    let aliveWhileRunning = false;
    const result = await createBashTool().execute(
      // The shell starts a child shell, which starts a grandchild `sleep` and waits for it.
      { command: `bash -c 'sleep 300 & echo "$!"; wait'`, timeout_ms: 700 },
      contextFor(root, {
        onOutput: (chunk) => {
          grandchild = Number(chunk.text.trim());
          aliveWhileRunning =
            !Number.isNaN(grandchild) &&
            (() => {
              try {
                process.kill(grandchild!, 0);
                return true;
              } catch {
                return false;
              }
            })();
        },
      }),
    );
    expect(result.data?.timedOut).toBe(true);
    expect(result.isError).toBe(true);
    expect(result.text).toContain('[Timed out after 0.7 s: the command and its child processes were killed.');
    expect(grandchild).toBeGreaterThan(0);
    expect(aliveWhileRunning).toBe(true);
    expect(await waitUntilGone(grandchild!)).toBe(true);
    expect(result.data!.durationMs).toBeLessThan(5000);
  });

  it('kills with SIGKILL what ignores SIGTERM', async () => {
    const root = await tempDirectory();
    const pidFile = path.join(root, 'pid');
    const result = await createBashTool({ killGraceMs: 300 }).execute(
      {
        command: `bash -c 'trap "" TERM; echo $$ > ${pidFile}; while true; do sleep 0.1; done'`,
        timeout_ms: 500,
      },
      contextFor(root),
    );
    expect(result.data?.timedOut).toBe(true);
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it('kills the process group when aborted', async () => {
    const root = await tempDirectory();
    const controller = new AbortController();
    const pidFile = path.join(root, 'pid');
    setTimeout(() => controller.abort(), 400);
    const result = await bash.execute(
      { command: `sleep 300 & echo $! > ${pidFile}; wait` },
      contextFor(root, { signal: controller.signal }),
    );
    expect(result.data).toMatchObject({ aborted: true, timedOut: false });
    expect(result.text).toContain('[Cancelled');
    expect(await waitUntilGone(Number(await readFile(pidFile, 'utf8')))).toBe(true);
  });

  it('returns when the command exits even if a background process holds its output open', async () => {
    const root = await tempDirectory();
    const pidFile = path.join(root, 'pid');
    const started = Date.now();
    const result = await bash.execute(
      { command: `sleep 300 & echo $! > ${pidFile}; echo done` },
      contextFor(root),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.data).toMatchObject({ exitCode: 0, stdout: 'done\n' });
    expect(await waitUntilGone(Number(await readFile(pidFile, 'utf8')))).toBe(true);
  });

  it('gives commands no input, so they cannot hang waiting for it', async () => {
    const root = await tempDirectory();
    const result = await bash.execute({ command: 'cat; echo after-cat' }, contextFor(root));
    expect(result.data?.stdout).toBe('after-cat\n');
  });

  it('keeps multibyte characters whole across chunks', async () => {
    const root = await tempDirectory();
    const result = await bash.execute(
      { command: `printf '\\xc3'; sleep 0.2; printf '\\xa9\\n'` },
      contextFor(root),
    );
    expect(result.data?.stdout).toBe('é\n');
  });
});
