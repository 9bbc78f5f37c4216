import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createTeacher, createTeacherChain, resolveProvider } from './create-teacher.js';
import { MissingApiKeyError, TeacherConfigError } from './errors.js';
import { StubServer } from './test-support/stub-server.js';
import { anthropic, groq, openAI } from './test-support/wire-protocols.js';

const noEnv = {};
const question = { messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };

describe('createTeacher', () => {
  let server: StubServer;
  beforeAll(async () => {
    server = await StubServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  test('provider aliases of the original config resolve', () => {
    expect(resolveProvider('claude')).toBe('anthropic');
    expect(resolveProvider('gpt')).toBe('openai');
    expect(resolveProvider('OpenAI')).toBe('openai');
    expect(resolveProvider('grok')).toBe('xai');
    expect(resolveProvider('gemini')).toBe('gemini');
    expect(resolveProvider('ollama')).toBe('openai-compatible');
    expect(() => resolveProvider('copilot')).toThrow(TeacherConfigError);
    expect(() => resolveProvider('copilot')).toThrow(
      /"copilot".*claude, openai, grok, gemini, mistral, groq/,
    );
  });

  test.each([
    ['claude', 'ANTHROPIC_API_KEY'],
    ['openai', 'OPENAI_API_KEY'],
    ['grok', 'XAI_API_KEY'],
    ['mistral', 'MISTRAL_API_KEY'],
    ['groq', 'GROQ_API_KEY'],
    ['gemini', 'GEMINI_API_KEY or GOOGLE_API_KEY'],
  ])('a %s teacher without a key names %s and the api_key field', (provider, variables) => {
    const create = () => createTeacher({ provider }, { env: noEnv });
    expect(create).toThrow(MissingApiKeyError);
    expect(create).toThrow(variables);
    expect(create).toThrow('`api_key`');
  });

  test('the key comes from the environment when the entry has none', () => {
    const teacher = createTeacher({ provider: 'gemini' }, { env: { GOOGLE_API_KEY: 'AIza-from-env' } });
    expect(teacher.provider).toBe('gemini');
    expect(teacher.modelId).toBe('gemini-3.8-flash');
  });

  test("a Groq gsk_ key and the entry's base_url are used as given", async () => {
    server.reply(groq.plain(false));
    const teacher = createTeacher(
      { provider: 'groq', api_key: groq.apiKey, base_url: `${server.url}/openai/v1/`, name: 'Groq fast' },
      { env: noEnv },
    );
    const result = await teacher.generate(question);
    expect(result.text).toBe('The capital of France is Paris.');
    expect(teacher.name).toBe('Groq fast');
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${groq.apiKey}`);
    expect(server.requests[0]!.path).toBe('/openai/v1/chat/completions');
  });

  test('a claude base_url with or without /v1 reaches /v1/messages', async () => {
    server.reply(anthropic.plain(false), anthropic.plain(false));
    for (const base of [server.url, `${server.url}/v1`]) {
      await createTeacher(
        { provider: 'claude', api_key: anthropic.apiKey, base_url: base },
        { env: noEnv },
      ).generate(question);
    }
    expect(server.requests.map((request) => request.path)).toEqual(['/v1/messages', '/v1/messages']);
  });

  test('a local server without a key gets no Authorization header; it needs a model', async () => {
    server.reply(openAI.plain(false));
    const teacher = createTeacher(
      { provider: 'ollama', base_url: `${server.url}/v1`, model: 'qwen2.5-coder:7b' },
      { env: noEnv },
    );
    await teacher.generate(question);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
    expect(server.requests[0]!.body.model).toBe('qwen2.5-coder:7b');
    expect(() => createTeacher({ provider: 'ollama' }, { env: noEnv })).toThrow(/needs a model name/);
    expect(() => createTeacher({ provider: 'openai-compatible', model: 'x' }, { env: noEnv })).toThrow(
      /base URL/,
    );
  });

  test("the entry's price, timeout, retries and context length apply", async () => {
    server.reply(openAI.plain(false));
    const teacher = createTeacher(
      {
        provider: 'openai',
        api_key: openAI.apiKey,
        base_url: `${server.url}/v1`,
        model: 'gpt-4.1',
        price: { input: 1_000_000, output: 0 },
        context_length: 50_000,
      },
      { env: noEnv },
    );
    await teacher.generate(question);
    expect(teacher.capabilities.contextLength).toBe(50_000);
    expect(teacher.totals).toMatchObject({ requests: 1, inputTokens: 19, outputTokens: 8, costUsd: 19 });
  });

  test('with no entries, ANTHROPIC_API_KEY alone makes one Claude teacher, as in the original', () => {
    const chain = createTeacherChain([], { env: { ANTHROPIC_API_KEY: 'sk-ant-x' } });
    expect(chain.teachers.map((teacher) => teacher.provider)).toEqual(['anthropic']);
    expect(() => createTeacherChain([], { env: noEnv })).toThrow(/No teachers are configured/);
  });
});
