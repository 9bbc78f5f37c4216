import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, runShammah, shammahCommand, TEST_MODEL, type TestHome } from './support/shammah-home.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the daemon: auto-spawned for answers, managed with shammah daemon', () => {
  let home: TestHome;
  let address: string;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    address = `127.0.0.1:${await freePort()}`;
    home = await makeHome(
      `[backend]\nmodel_repo = "${TEST_MODEL}"\nvariant = "fp32"\n\n[client]\ndaemon_address = "${address}"\n`,
    );
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await runShammah(['daemon', 'stop'], { env: home.env });
    await home.remove();
  });

  it('starts the daemon on the first question and answers through it', async () => {
    const before = await runShammah(['daemon', 'status'], { env: home.env });
    expect(before.code).toBe(3);
    expect(before.stdout).toContain('The daemon is not running');

    const result = await runShammah(['-p', '--json'], {
      env: home.env,
      input: 'What is the capital of France?',
    });
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(answer).toMatchObject({ route: 'local', model: TEST_MODEL, finishReason: 'stop' });
    expect(answer.answer).toMatch(/Paris/);

    const status = await runShammah(['daemon', 'status'], { env: home.env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^running {3}pid \d+, up \d+/m);
    expect(status.stdout).toContain(`address   http://${address}`);
    expect(status.stdout).toContain(`model     ${TEST_MODEL} — ready`);
    const json = JSON.parse((await runShammah(['daemon', 'status', '--json'], { env: home.env })).stdout);
    expect(json).toMatchObject({ running: true, url: `http://${address}` });
  });

  it('the REPL talks to the running daemon, and says so in the status bar', async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(), env: home.env });
    await terminal.waitFor('Ask anything', 30_000);
    const welcome = await terminal.waitFor(
      new RegExp(`via the\\s+daemon at ${address.replace(/\./g, '\\.')}`),
    );
    expect(welcome.trimEnd().split('\n').at(-1)).toContain(`daemon ${address}`);
    await terminal.type('What is the capital of France?');
    await terminal.press('Enter');
    const screen = await terminal.waitFor(/first token/, 120_000);
    expect(screen).toMatch(/⏺ local · HuggingFaceTB\/SmolLM2-135M-Instruct · daemon\n {2}.*Paris/);
    await terminal.press('C-d');
    expect(await terminal.exitCode()).toBe(0);
    // The daemon outlives the REPL.
    expect((await runShammah(['daemon', 'status'], { env: home.env })).code).toBe(0);
  });

  it('shows its log, restarts and stops', async () => {
    const logs = await runShammah(['daemon', 'logs', '-n', '3'], { env: home.env });
    expect(logs.code).toBe(0);
    expect(logs.stdout.trim().split('\n')).toHaveLength(3);
    expect(logs.stdout).toContain('"pid"');

    const first = JSON.parse((await runShammah(['daemon', 'status', '--json'], { env: home.env })).stdout);
    const restarted = await runShammah(['daemon', 'restart'], { env: home.env });
    expect(restarted.code).toBe(0);
    expect(restarted.stdout).toMatch(
      new RegExp(`Daemon restarted: pid \\d+, http://${address.replace(/\./g, '\\.')}`),
    );
    const second = JSON.parse((await runShammah(['daemon', 'status', '--json'], { env: home.env })).stdout);
    expect(second.pid).not.toBe(first.pid);

    const stopped = await runShammah(['daemon', 'stop'], { env: home.env });
    expect(stopped.stdout).toBe(`Daemon stopped (pid ${second.pid}).\n`);
    expect((await runShammah(['daemon', 'status'], { env: home.env })).code).toBe(3);
    expect((await runShammah(['daemon', 'stop'], { env: home.env })).stdout).toBe('No daemon is running.\n');
  });
});
