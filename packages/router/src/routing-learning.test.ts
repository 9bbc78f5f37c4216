import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RouterConfigError } from './errors.js';
import { RoutingLearning } from './routing-learning.js';

describe('RoutingLearning', () => {
  let directory: string;
  let path: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'shammah-learning-'));
    path = join(directory, 'router.json');
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('starts fresh without a file, and writes one atomically, creating its directory', async () => {
    const nested = join(directory, 'home', '.shammah', 'router.json');
    const learning = await RoutingLearning.open({ path: nested });
    expect(learning.snapshot()).toMatchObject({
      source: 'fresh',
      threshold: 0.75,
      queries: 0,
      categories: [],
    });
    learning.consult('debug');
    learning.recordFeedback('debug', 'improve');
    await learning.close();

    const saved = JSON.parse(await readFile(nested, 'utf8'));
    expect(saved).toMatchObject({
      version: 1,
      threshold: 0.75,
      queries: 1,
      categories: { debug: { successes: 0, failures: 1, observations: 1, escalatedRequests: 0 } },
    });
    // Nothing but the file is left behind: no temporary files.
    expect(await readdir(join(directory, 'home', '.shammah'))).toEqual(['router.json']);
  });

  it('reads back what it wrote', async () => {
    const first = await RoutingLearning.open({ path });
    for (const rating of ['good', 'critical', 'improve'] as const) first.recordFeedback('code-write', rating);
    first.recordLowConfidence('math');
    await first.close();
    const second = await RoutingLearning.open({ path });
    expect(second.snapshot()).toEqual({ ...first.snapshot(), source: 'file' });
  });

  it('saves by itself shortly after a change', async () => {
    const learning = await RoutingLearning.open({ path, saveDelayMs: 10 });
    learning.recordFeedback('shell', 'good');
    await expect
      .poll(async () => (await readdir(directory)).includes('router.json'), { timeout: 2000 })
      .toBe(true);
    await learning.close();
  });

  it.each([
    ['not JSON', '{"version": 1, "threshold": 0.7'],
    ['the wrong shape', JSON.stringify({ version: 1, threshold: 'high', categories: {} })],
    [
      'a negative count',
      JSON.stringify({
        version: 1,
        threshold: 0.8,
        queries: 3,
        recent: { queries: 3, escalations: 0 },
        judged: { successes: 1, failures: 0 },
        categories: { debug: { successes: -1, failures: 0, observations: 1, escalatedRequests: 0 } },
      }),
    ],
  ])('moves a corrupt file (%s) aside and starts fresh', async (_what, content) => {
    await writeFile(path, content);
    const learning = await RoutingLearning.open({ path });
    const snapshot = learning.snapshot();
    expect(snapshot).toMatchObject({ source: 'corrupt-file', threshold: 0.75, categories: [] });
    expect(snapshot.corruptBackup).toMatch(/router\.json\.corrupt-/);
    expect(await readFile(snapshot.corruptBackup!, 'utf8')).toBe(content);
    learning.recordFeedback('debug', 'good');
    await learning.close();
    expect(JSON.parse(await readFile(path, 'utf8')).categories.debug.observations).toBe(1);
  });

  it('fails loudly when the file cannot be read for another reason than absence', async () => {
    await mkdir(path);
    await expect(RoutingLearning.open({ path })).rejects.toThrow(/EISDIR/);
  });

  it('needs the minimum number of judged answers before escalating a category', () => {
    const learning = RoutingLearning.inMemory({ minSamples: 3 });
    learning.recordFeedback('debug', 'critical');
    learning.recordFeedback('debug', 'critical');
    expect(learning.consult('debug').escalate).toBe(false);
    learning.recordFeedback('debug', 'critical');
    expect(learning.consult('debug')).toMatchObject({ escalate: true, observations: 3 });
  });

  it('weighs critical feedback more than a request for improvement', () => {
    const learning = RoutingLearning.inMemory({ decay: 1 });
    learning.recordFeedback('a', 'improve');
    learning.recordFeedback('b', 'critical');
    const [a, b] = learning.snapshot().categories;
    expect(a).toMatchObject({ failures: 1, successRate: 4 / 6 });
    expect(b).toMatchObject({ failures: 3, successRate: 4 / 8 });
  });

  it('probes an escalated category every n-th request', () => {
    const learning = RoutingLearning.inMemory({ minSamples: 1, probeEvery: 3 });
    learning.recordFeedback('debug', 'critical');
    const routes = Array.from({ length: 6 }, () => {
      const advice = learning.consult('debug');
      return advice.probe ? 'probe' : advice.escalate ? 'teacher' : 'local';
    });
    expect(routes).toEqual(['teacher', 'teacher', 'probe', 'teacher', 'teacher', 'probe']);
  });

  it('lowers the threshold, down to its floor, when it sends too much to teachers', () => {
    const learning = RoutingLearning.inMemory({ minSamples: 1, probeEvery: 0 });
    learning.recordFeedback('debug', 'critical');
    for (let index = 0; index < 49; index += 1) learning.consult('debug');
    expect(learning.threshold).toBe(0.75);
    learning.consult('debug');
    expect(learning.threshold).toBeCloseTo(0.75 * 0.995, 10);
    for (let index = 0; index < 500; index += 1) learning.consult('debug');
    expect(learning.threshold).toBe(0.6);
  });

  it('raises the threshold, up to its ceiling, when local answers are often bad', () => {
    const learning = RoutingLearning.inMemory({ minSamples: 1000 });
    for (let index = 0; index < 10; index += 1) learning.recordFeedback(`category-${index}`, 'improve');
    for (let index = 0; index < 50; index += 1) learning.consult('other');
    expect(learning.threshold).toBeGreaterThan(0.75);
    for (let index = 0; index < 500; index += 1) learning.consult('other');
    expect(learning.threshold).toBe(0.95);
  });

  it('forgets a category, or everything, on reset', () => {
    const learning = RoutingLearning.inMemory({ minSamples: 1 });
    learning.recordFeedback('debug', 'critical');
    learning.recordFeedback('math', 'critical');
    learning.reset('debug');
    expect(learning.snapshot().categories.map((category) => category.name)).toEqual(['math']);
    learning.reset();
    expect(learning.snapshot().categories).toEqual([]);
  });

  it('rejects settings that make no sense', () => {
    expect(() => RoutingLearning.inMemory({ initialThreshold: 0.5 })).toThrow(RouterConfigError);
    expect(() => RoutingLearning.inMemory({ minThreshold: 0.9, maxThreshold: 0.8 })).toThrow(
      /maxThreshold is 0.8/,
    );
  });
});
