import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor } from './test-support/temp-project.js';
import { createWebFetchTool } from './web-fetch-tool.js';

const PAGE = `<!doctype html>
<html><head><title>Shammah &amp; Tools</title><style>body { color: red }</style>
<script>window.tracking = true;</script></head>
<body>
<nav><a href="/home">Home</a> | <a href="/about">About</a></nav>
<main>
  <h1>Getting started</h1>
  <p>Install it with <code>pnpm add @shammah/tools</code>, then read the <a href="/docs/api">API docs</a>.</p>
  <ul><li>Read files</li><li>Run <strong>commands</strong></li></ul>
  <pre><code class="language-ts">const x = 1;</code></pre>
  <img src="data:image/png;base64,AAAA" alt="logo">
</main>
<footer>© 2025</footer>
</body></html>`;

let server: Server;
let base: string;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    hits.push(request.url ?? '');
    const url = request.url ?? '/';
    if (url === '/page') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(PAGE);
    } else if (url === '/big') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<html><body>${'<p>lorem ipsum dolor</p>'.repeat(20_000)}</body></html>`);
    } else if (url === '/gzip') {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      response.end(gzipSync('compressed hello'));
    } else if (url === '/json') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok": true}');
    } else if (url === '/image') {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    } else if (url === '/missing') {
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<p>No such page</p>');
    } else if (url === '/redirect-local') {
      response.writeHead(302, { location: '/page' });
      response.end();
    } else if (url === '/redirect-other-loopback') {
      response.writeHead(302, { location: `http://127.0.0.2:${port}/page` });
      response.end();
    } else if (url === '/redirect-ipv6-loopback') {
      response.writeHead(301, { location: `http://[::1]:${port}/page` });
      response.end();
    } else if (url === '/redirect-localhost') {
      response.writeHead(307, { location: `http://localhost:${port}/page` });
      response.end();
    } else if (url === '/loop') {
      response.writeHead(302, { location: '/loop' });
      response.end();
    } else if (url === '/slow') {
      // Never answers; the client's time limit must end the request.
    } else {
      response.writeHead(500);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const context = () => contextFor('/');

describe('WebFetch', () => {
  const fetchLocal = createWebFetchTool({ allowPrivateNetwork: ['127.0.0.1'] });

  it('turns a page into readable markdown with its title and absolute links', async () => {
    const result = await fetchLocal.execute({ url: `${base}/page` }, context());
    expect(result.text).toBe(
      [
        '# Shammah & Tools',
        `URL: ${base}/page`,
        '',
        '# Getting started',
        '',
        `Install it with \`pnpm add @shammah/tools\`, then read the [API docs](${base}/docs/api).`,
        '',
        '-   Read files',
        '-   Run **commands**',
        '',
        '```ts',
        'const x = 1;',
        '```',
        '',
        '[image: logo]',
      ].join('\n'),
    );
    expect(result.data).toMatchObject({
      status: 200,
      title: 'Shammah & Tools',
      truncated: false,
      redirects: [],
    });
  });

  it('follows allowed redirects, decompresses, and passes text through', async () => {
    const redirected = await fetchLocal.execute({ url: `${base}/redirect-local` }, context());
    expect(redirected.data).toMatchObject({ finalUrl: `${base}/page`, redirects: [`${base}/page`] });
    expect(redirected.text).toContain(`(redirected from ${base}/redirect-local)`);
    expect((await fetchLocal.execute({ url: `${base}/gzip` }, context())).text).toContain('compressed hello');
    expect((await fetchLocal.execute({ url: `${base}/json` }, context())).text).toContain('{"ok": true}');
  });

  it('reads at most maxBytes and says the page was cut', async () => {
    const small = createWebFetchTool({ allowPrivateNetwork: ['127.0.0.1'], maxBytes: 10_000 });
    const result = await small.execute({ url: `${base}/big` }, context());
    expect(result.data).toMatchObject({ bytes: 10_000, truncated: true });
    expect(result.text).toContain('[The page is larger than 10000 bytes; only its start was read.]');
  });

  it('refuses loopback and private addresses unless allowed, before connecting', async () => {
    const strict = createWebFetchTool();
    const before = hits.length;
    await expect(strict.execute({ url: `${base}/page` }, context())).rejects.toMatchObject({
      code: 'fetch_blocked_address',
      message: expect.stringContaining('127.0.0.1, a private, loopback or link-local address'),
    });
    // A name is checked by the address it resolves to.
    await expect(strict.execute({ url: `http://localhost:${port}/page` }, context())).rejects.toMatchObject({
      code: 'fetch_blocked_address',
    });
    await expect(
      strict.execute({ url: `http://[::ffff:127.0.0.1]:${port}/page` }, context()),
    ).rejects.toMatchObject({
      code: 'fetch_blocked_address',
    });
    expect(hits.length).toBe(before);
  });

  it('checks every redirect: a redirect to a private address is blocked when not allowed', async () => {
    const before = hits.length;
    await expect(
      fetchLocal.execute({ url: `${base}/redirect-other-loopback` }, context()),
    ).rejects.toMatchObject({
      code: 'fetch_blocked_address',
      message: expect.stringContaining('127.0.0.2'),
    });
    await expect(
      fetchLocal.execute({ url: `${base}/redirect-ipv6-loopback` }, context()),
    ).rejects.toMatchObject({
      code: 'fetch_blocked_address',
      message: expect.stringContaining('::1'),
    });
    // Only the redirecting pages were requested, never their targets.
    expect(hits.slice(before)).toEqual(['/redirect-other-loopback', '/redirect-ipv6-loopback']);
    // A name resolving to an allowed address is fine.
    const viaName = await fetchLocal.execute({ url: `${base}/redirect-localhost` }, context());
    expect(viaName.data?.finalUrl).toBe(`http://localhost:${port}/page`);
    // Allowing everything lets the redirect through to 127.0.0.2 (loopback, but nothing listens there).
    await expect(
      createWebFetchTool({ allowPrivateNetwork: true }).execute(
        { url: `${base}/redirect-other-loopback` },
        context(),
      ),
    ).rejects.toMatchObject({ code: 'fetch_failed', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('reports HTTP errors, redirect loops, time-outs and binary content', async () => {
    await expect(fetchLocal.execute({ url: `${base}/missing` }, context())).rejects.toMatchObject({
      code: 'fetch_http_status',
      statusCode: 404,
      message: expect.stringContaining('No such page'),
    });
    await expect(fetchLocal.execute({ url: `${base}/loop` }, context())).rejects.toMatchObject({
      code: 'fetch_too_many_redirects',
    });
    const quick = createWebFetchTool({ allowPrivateNetwork: ['127.0.0.1'], timeoutMs: 300 });
    await expect(quick.execute({ url: `${base}/slow` }, context())).rejects.toMatchObject({
      code: 'fetch_timeout',
    });
    await expect(fetchLocal.execute({ url: `${base}/image` }, context())).rejects.toMatchObject({
      code: 'fetch_unsupported_content',
    });
  });

  it('fetches https when the scheme is missing, and rules see that URL', () => {
    expect(fetchLocal.permissionTarget({ url: 'docs.rs/regex' })).toEqual({
      type: 'url',
      url: 'https://docs.rs/regex',
    });
  });

  it('rejects URLs that are not http(s)', async () => {
    await expect(fetchLocal.execute({ url: 'file:///etc/passwd' }, context())).rejects.toMatchObject({
      code: 'fetch_invalid_url',
    });
    await expect(fetchLocal.execute({ url: 'http://' }, context())).rejects.toMatchObject({
      code: 'fetch_invalid_url',
    });
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(
      fetchLocal.execute({ url: `${base}/slow` }, contextFor('/', { signal: controller.signal })),
    ).rejects.toMatchObject({ code: 'tool_aborted' });
  });
});
