import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadError } from './errors.js';
import { downloadModel } from './hub-download.js';
import { listCachedModels, snapshotDir } from './model-cache.js';

const COMMIT = 'a'.repeat(40);
const REPO = 'test-org/tiny-model';

interface HubOptions {
  /** Cut the connection after this many bytes of the ONNX file, once. */
  cutAfter?: number;
  /** Serve these bytes instead of the real ones (a corrupt mirror). */
  corrupt?: boolean;
  /** Send the first `bytes` of `file`, then hold the connection open without sending more. */
  stall?: { file: string; bytes: number };
}

/** A stand-in for the Hub: `/api/models/{repo}/revision/{rev}` and `/{repo}/resolve/{rev}/{path}`, with ranges. */
function startHub(files: Record<string, Buffer>, options: HubOptions) {
  const requests: Array<{ url: string; range?: string; auth?: string }> = [];
  let cut = options.cutAfter !== undefined;
  const stalled: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const url = request.url ?? '';
    requests.push({
      url,
      ...(request.headers.range ? { range: request.headers.range } : {}),
      ...(request.headers.authorization ? { auth: request.headers.authorization } : {}),
    });
    if (url.startsWith(`/api/models/${REPO}/revision/`)) {
      const siblings = Object.entries(files).map(([name, data]) => ({
        rfilename: name,
        size: data.length,
        ...(name.endsWith('.onnx')
          ? { lfs: { sha256: createHash('sha256').update(data).digest('hex'), size: data.length } }
          : {}),
      }));
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ id: REPO, sha: COMMIT, siblings }));
      return;
    }
    const prefix = `/${REPO}/resolve/${COMMIT}/`;
    if (!url.startsWith(prefix)) {
      response.statusCode = 404;
      response.end('{"error":"Repository not found"}');
      return;
    }
    const name = decodeURIComponent(url.slice(prefix.length));
    let data = files[name];
    if (!data) {
      response.statusCode = 404;
      response.end('{"error":"Entry not found"}');
      return;
    }
    if (options.corrupt && name.endsWith('.onnx')) data = Buffer.from(data).fill(7, 10, 20);
    let start = 0;
    const range = /bytes=(\d+)-/.exec(request.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      response.statusCode = 206;
      response.setHeader('content-range', `bytes ${start}-${data.length - 1}/${data.length}`);
    }
    response.setHeader('content-length', String(data.length - start));
    if (options.stall?.file === name) {
      response.write(data.subarray(start, start + options.stall.bytes));
      stalled.push(response);
      return;
    }
    if (cut && name.endsWith('.onnx')) {
      cut = false;
      response.write(data.subarray(start, start + options.cutAfter!), () => {
        setTimeout(() => response.socket?.destroy(), 20);
      });
      return;
    }
    response.end(data.subarray(start));
  });
  return new Promise<{ server: Server; endpoint: string; requests: typeof requests }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.on('close', () => {
        for (const response of stalled) response.socket?.destroy();
      });
      resolve({ server, endpoint: `http://127.0.0.1:${port}`, requests });
    });
  });
}

describe('downloadModel', () => {
  let cacheDir: string;
  let server: Server | undefined;
  const onnx = randomBytes(300_000);
  const files = {
    'config.json': Buffer.from('{"model_type":"llama"}'),
    'tokenizer.json': Buffer.from('{}'),
    'tokenizer_config.json': Buffer.from('{}'),
    'onnx/model.onnx': Buffer.from('fp32 graph that must not be fetched'),
    'onnx/model_q4.onnx': onnx,
    'README.md': Buffer.from('not needed'),
  };

  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'shammah-hub-'));
  });
  afterEach(async () => {
    server?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('fetches the files a Generator needs into the hub cache layout, sending the token', async () => {
    const hub = await startHub(files, {});
    server = hub.server;
    const progress: number[] = [];
    const dir = await downloadModel({
      repoId: REPO,
      cacheDir,
      endpoint: hub.endpoint,
      token: 'hf_secret',
      onProgress: (p) => progress.push(p.fraction),
    });
    expect(dir).toBe(join(cacheDir, 'models--test-org--tiny-model', 'snapshots', COMMIT));
    expect(await snapshotDir(REPO, 'main', cacheDir)).toBe(dir);
    expect(Buffer.compare(await readFile(join(dir, 'onnx', 'model_q4.onnx')), onnx)).toBe(0);
    expect((await readdir(join(dir, 'onnx'))).sort()).toEqual(['model_q4.onnx']);
    expect(hub.requests.every((request) => request.auth === 'Bearer hf_secret')).toBe(true);
    expect(hub.requests.some((request) => request.url.includes('README'))).toBe(false);
    expect(progress.at(-1)).toBe(1);
    const [listed] = await listCachedModels(cacheDir);
    expect(listed?.repoId).toBe(REPO);
    expect(listed?.variants).toEqual(['model_q4.onnx']);
  });

  it('resumes an interrupted transfer, and the model only appears when complete', async () => {
    const hub = await startHub(files, { cutAfter: 100_000 });
    server = hub.server;
    await expect(downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint })).rejects.toBeInstanceOf(
      DownloadError,
    );
    expect(await snapshotDir(REPO, 'main', cacheDir)).toBeUndefined();

    const dir = await downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint });
    const resumed = hub.requests.filter((request) => request.url.endsWith('model_q4.onnx')).at(-1);
    expect(resumed?.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(resumed!.range!)![0])).toBeGreaterThan(0);
    expect(Buffer.compare(await readFile(join(dir, 'onnx', 'model_q4.onnx')), onnx)).toBe(0);
  });

  it('rejects a file whose checksum does not match, leaving no model behind', async () => {
    const hub = await startHub(files, { corrupt: true });
    server = hub.server;
    await expect(downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint })).rejects.toThrow(
      /SHA-256/,
    );
    expect(await snapshotDir(REPO, 'main', cacheDir)).toBeUndefined();
  });

  it('shows no model while a download is under way, so a kill at any point leaves none', async () => {
    const data = randomBytes(200_000);
    const withData = { ...files, 'onnx/model_q4.onnx_data': data };
    const hub = await startHub(withData, { stall: { file: 'onnx/model_q4.onnx_data', bytes: 50_000 } });
    server = hub.server;
    const stop = new AbortController();
    const download = downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint, signal: stop.signal });
    download.catch(() => {});
    // Wait until the graph and the configuration are fetched and the weights are half-way.
    const blobs = join(cacheDir, 'models--test-org--tiny-model', 'blobs');
    const started = Date.now();
    while (!(await readdir(blobs).catch(() => [])).some((name) => name.endsWith('.incomplete'))) {
      if (Date.now() - started > 10_000) throw new Error('the download never reached the weights');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await snapshotDir(REPO, COMMIT, cacheDir)).toBeUndefined();
    expect(await snapshotDir(REPO, 'main', cacheDir)).toBeUndefined();
    expect(await listCachedModels(cacheDir)).toEqual([]);
    stop.abort();
    await expect(download).rejects.toBeInstanceOf(DownloadError);
    expect(await listCachedModels(cacheDir)).toEqual([]);

    // The next run resumes and the model appears with its weights.
    server.close();
    const again = await startHub(withData, {});
    server = again.server;
    const dir = await downloadModel({ repoId: REPO, cacheDir, endpoint: again.endpoint });
    expect(Buffer.compare(await readFile(join(dir, 'onnx', 'model_q4.onnx_data')), data)).toBe(0);
    expect((await listCachedModels(cacheDir)).map((model) => model.variants)).toEqual([['model_q4.onnx']]);
  });

  it('clears a snapshot folder a killed download was assembling, and never lists it', async () => {
    const snapshots = join(cacheDir, 'models--test-org--tiny-model', 'snapshots');
    // pid 999999999 is above any pid_max: the process that made this folder is gone.
    const dead = join(snapshots, `.${COMMIT}.incomplete-999999999-0badf00d`);
    await mkdir(join(dead, 'onnx'), { recursive: true });
    await writeFile(join(dead, 'config.json'), '{"model_type":"llama"}');
    await writeFile(join(dead, 'onnx', 'model_q4.onnx'), 'half');
    expect(await listCachedModels(cacheDir)).toEqual([]);

    const hub = await startHub(files, {});
    server = hub.server;
    await downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint });
    expect(await readdir(snapshots)).toEqual([COMMIT]);
    expect((await listCachedModels(cacheDir)).map((model) => model.revision)).toEqual([COMMIT]);
  });

  it('fetches external data named model.onnx.data as well as model.onnx_data', async () => {
    const data = randomBytes(10_000);
    const hub = await startHub(
      {
        ...files,
        'onnx/model_q4.onnx.data': data,
        'onnx/model.onnx_data': Buffer.from('the fp32 weights, not needed'),
      },
      {},
    );
    server = hub.server;
    const dir = await downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint });
    expect((await readdir(join(dir, 'onnx'))).sort()).toEqual(['model_q4.onnx', 'model_q4.onnx.data']);
    expect(Buffer.compare(await readFile(join(dir, 'onnx', 'model_q4.onnx.data')), data)).toBe(0);
  });

  it('adds a second variant to a snapshot that has one, keeping the first', async () => {
    const hub = await startHub(files, {});
    server = hub.server;
    const first = await downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint, variant: 'q4' });
    const second = await downloadModel({ repoId: REPO, cacheDir, endpoint: hub.endpoint, variant: 'fp32' });
    expect(second).toBe(first);
    expect((await stat(join(first, 'config.json'))).isFile()).toBe(true);
    expect((await listCachedModels(cacheDir)).map((model) => model.variants)).toEqual([
      ['model.onnx', 'model_q4.onnx'],
    ]);
    expect(await readFile(join(first, 'onnx', 'model.onnx'), 'utf8')).toBe(
      'fp32 graph that must not be fetched',
    );
  });

  it('explains a missing repository', async () => {
    const hub = await startHub(files, {});
    server = hub.server;
    await expect(
      downloadModel({ repoId: 'nobody/nothing', cacheDir, endpoint: hub.endpoint }),
    ).rejects.toThrow(/404.*Check the repository id/);
  });
});
