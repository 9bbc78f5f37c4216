// Python users talk to Shammah with the official `openai` and `anthropic` SDKs (installed in the
// training venv by setup). The daemon must satisfy them as it does the JavaScript SDKs.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { WorkerGenerator } from '@shammah/core-inference';
import { createRouter } from '@shammah/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../src/index.js';
import { loadRealModel } from './support/real-model.js';

const run = promisify(execFile);
const python = join(import.meta.dirname, '..', '..', '..', 'training', '.venv', 'bin', 'python');

let local: WorkerGenerator;
let daemon: Daemon;
let url: string;

beforeAll(async () => {
  local = await loadRealModel();
  daemon = createDaemon({ local, route: (models) => createRouter(models), port: 0, defaultMetrics: false });
  url = (await daemon.listen()).url;
});

afterAll(async () => {
  await daemon?.close();
  await local?.dispose();
});

describe('the official Python SDKs', () => {
  it('get answers, streams, model lists and errors they understand', async () => {
    const { stdout } = await run(python, [join(import.meta.dirname, 'python', 'sdk_clients.py'), url], {
      timeout: 240_000,
    });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(seen.openai_text).toContain('Paris');
    expect(seen.openai_finish).toBe('stop');
    expect(seen.openai_usage).toBeGreaterThan(0);
    expect(seen.openai_stream_text).toBe(seen.openai_text);
    expect(seen.openai_usage_chunks).toBe(1);
    expect(seen.openai_models.length).toBeGreaterThan(0);
    expect(seen.openai_error.status).toBe(400);
    expect(seen.anthropic_text).toContain('Paris');
    expect(seen.anthropic_stop).toBe('end_turn');
    expect(seen.anthropic_stream_text).toBe(seen.anthropic_text);
    expect(seen.anthropic_stream_stop).toBe('end_turn');
    expect(seen.anthropic_error).not.toBeNull();
  });
});
