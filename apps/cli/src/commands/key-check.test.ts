import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkTeacherKey } from './key-check.js';

let server: Server | undefined;
const seen: Array<{ url: string; headers: Record<string, unknown> }> = [];

async function provider(status: number): Promise<string> {
  server = createServer((request, response) => {
    seen.push({ url: request.url ?? '', headers: request.headers });
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(status === 200 ? '{"data":[]}' : '{"error":{"message":"invalid x-api-key"}}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

afterEach(async () => {
  const running = server;
  server = undefined;
  seen.length = 0;
  if (running) await new Promise((resolve) => running.close(resolve));
});

describe('checkTeacherKey', () => {
  it("lists models with each provider's authentication", async () => {
    const base = await provider(200);
    expect(await checkTeacherKey({ provider: 'anthropic', apiKey: 'sk-ant-x', baseUrl: base })).toEqual({
      status: 'valid',
    });
    expect(seen[0]).toMatchObject({
      url: '/v1/models?limit=1',
      headers: { 'x-api-key': 'sk-ant-x', 'anthropic-version': '2023-06-01' },
    });
    await checkTeacherKey({ provider: 'groq', apiKey: 'gsk_x', baseUrl: `${base}/openai/v1` });
    expect(seen[1]).toMatchObject({ url: '/openai/v1/models', headers: { authorization: 'Bearer gsk_x' } });
    await checkTeacherKey({ provider: 'gemini', apiKey: 'AIza', baseUrl: base });
    expect(seen[2]).toMatchObject({
      url: '/v1beta/models?pageSize=1',
      headers: { 'x-goog-api-key': 'AIza' },
    });
  });

  it('tells a rejected key from an unreachable provider', async () => {
    const base = await provider(401);
    expect(await checkTeacherKey({ provider: 'openai', apiKey: 'bad', baseUrl: `${base}/v1` })).toEqual({
      status: 'rejected',
      detail: `${new URL(base).host} answered 401`,
    });
    const closed = await closedPort();
    expect(
      await checkTeacherKey({ provider: 'openai', apiKey: 'k', baseUrl: `http://127.0.0.1:${closed}/v1` }),
    ).toEqual({
      status: 'offline',
      detail: `127.0.0.1:${closed} cannot be reached (ECONNREFUSED)`,
    });
  });
});
