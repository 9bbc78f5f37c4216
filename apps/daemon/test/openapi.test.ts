// GET /openapi.json documents every endpoint the daemon serves, with the request schemas the daemon
// validates with, on a daemon listening on 127.0.0.1 (a teacher stand-in answers; no model is needed).
import { createOpenAITeacher } from '@shammah/teachers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon } from '../src/index.js';
import { OpenAIStandIn } from './support/openai-stand-in.js';

interface OpenApi {
  openapi: string;
  info: { version: string };
  servers: Array<{ url: string }>;
  // biome-ignore lint/suspicious/noExplicitAny: the document is inspected loosely, path by path
  paths: Record<string, Record<string, any>>;
}

let standIn: OpenAIStandIn;
let daemon: Daemon;
let url: string;
let document: OpenApi;

beforeAll(async () => {
  standIn = await OpenAIStandIn.start({ answer: 'text' });
  daemon = createDaemon({
    teachers: [createOpenAITeacher({ baseURL: standIn.url, apiKey: 'test-key', model: 'gpt-4.1' })],
    port: 0,
    version: '9.9.9',
    defaultMetrics: false,
  });
  url = (await daemon.listen()).url;
  const response = await fetch(`${url}/openapi.json`);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  document = (await response.json()) as OpenApi;
});

afterAll(async () => {
  await daemon?.close();
  await standIn?.close();
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document for this daemon', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.version).toBe('9.9.9');
    expect(document.servers).toEqual([{ url }]);
  });

  it('documents every route the daemon serves', () => {
    const served = daemon.app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')}`);
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(served.length).toBeGreaterThan(12);
    expect(served.filter((route) => route !== 'GET /').sort()).toEqual([...documented].sort());
  });

  it('describes POST /v1/feedback from the schema that validates it', async () => {
    const operation = document.paths['/v1/feedback']!.post;
    const schema = operation.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['query', 'response']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.rating.enum).toEqual(['good', 'improve', 'critical', 'medium', 'improvement']);
    expect(schema.properties.weight).toMatchObject({ type: 'number', exclusiveMinimum: 0 });
    expect(operation.responses['400'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/OpenAIError',
    });
    // The same schema refuses an unknown field over HTTP.
    const refused = await fetch(`${url}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'Hi', response: 'Hello', rating: 'good', stars: 5 }),
    });
    expect(refused.status).toBe(400);
  });

  it('names the response headers that say who answered and why', () => {
    const headers = document.paths['/v1/chat/completions']!.post.responses['200'].headers;
    expect(Object.keys(headers)).toEqual([
      'x-request-id',
      'x-shammah-route',
      'x-shammah-reason',
      'x-shammah-model',
    ]);
  });
});

describe('without a router or a training queue', () => {
  it('still answers feedback, status and training status, saying what is off', async () => {
    const feedback = await fetch(`${url}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'Hi', response: 'Hello', weight: 10 }),
    });
    expect(await feedback.json()).toEqual({
      object: 'feedback',
      rating: 'critical',
      weight: 10,
      training: { queued: false, reason: 'this daemon has no training queue' },
      routing: { applied: false, reason: 'no-router' },
    });
    expect(await (await fetch(`${url}/v1/training/status`)).json()).toMatchObject({
      enabled: false,
      state: 'disabled',
    });
    expect(await (await fetch(`${url}/v1/status`)).json()).toMatchObject({
      model: null,
      routes: null,
      learning: null,
      teachers: [{ provider: 'openai', model: 'gpt-4.1' }],
    });
  });
});
