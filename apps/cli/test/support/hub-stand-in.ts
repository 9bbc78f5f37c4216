import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() || entry.isSymbolicLink())
    .map((entry) => join(entry.parentPath, entry.name));
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A stand-in for the Hugging Face Hub serving one repository from a folder, with the two
 * endpoints a download uses: `GET /api/models/<repo>/revision/<rev>?blobs=true` (the file list
 * with sizes, and LFS hashes for the large files, as the Hub answers) and
 * `GET /<repo>/resolve/<sha>/<file>` (the bytes, honouring `Range`).
 */
export class HubStandIn {
  readonly #server: Server;
  readonly requests: string[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(repoId: string, folder: string, commit = 'a'.repeat(40)): Promise<HubStandIn> {
    const files = await filesUnder(folder);
    const siblings = await Promise.all(
      files.map(async (path) => {
        const size = (await stat(path)).size;
        const rfilename = relative(folder, path);
        return size > 10_000_000
          ? { rfilename, size, lfs: { sha256: await sha256(path), size, pointerSize: 134 } }
          : { rfilename, size, blobId: createHash('sha1').update(rfilename).digest('hex') };
      }),
    );
    let standIn: HubStandIn;
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://hub');
      standIn.requests.push(url.pathname);
      if (url.pathname === `/api/models/${repoId}/revision/main`) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ _id: 'stand-in', id: repoId, modelId: repoId, sha: commit, siblings }));
        return;
      }
      const prefix = `/${repoId}/resolve/${commit}/`;
      const file = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : undefined;
      const sibling = siblings.find((candidate) => candidate.rfilename === file);
      if (!sibling) {
        response.writeHead(404, { 'content-type': 'application/json', 'x-error-code': 'EntryNotFound' });
        response.end(JSON.stringify({ error: 'Entry not found' }));
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      response.writeHead(range ? 206 : 200, {
        'content-type': 'application/octet-stream',
        'content-length': String(sibling.size - start),
      });
      createReadStream(join(folder, sibling.rfilename), { start }).pipe(response);
    });
    standIn = new HubStandIn(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
