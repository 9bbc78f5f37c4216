import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiCallError, type ChatStreamPart, collectStream, type RouteStreamPart } from '@shammah/provider';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidRouteRequestError,
  NoRouteAnsweredError,
  NoRouteError,
  RouterConfigError,
  UnknownModelError,
} from './errors.js';
import type { RouteDecision } from './route-decision.js';
import { createRouter, type RouterSettings } from './router.js';
import { RoutingLearning } from './routing-learning.js';
import {
  ask,
  partsOf,
  ScriptedLocalModel,
  ScriptedModel,
  shownText,
} from './test-support/scripted-models.js';

const localAnswer = 'Paris is the capital of France.';
const teacherAnswer = 'The capital of France is Paris, on the Seine.';

function setup(settings: Partial<RouterSettings> = {}) {
  const local = new ScriptedLocalModel({ modelId: 'qwen2.5-1.5b', text: localAnswer, logprobs: -0.2 });
  const claude = new ScriptedModel({
    provider: 'anthropic',
    modelId: 'claude-sonnet-4-5',
    name: 'Claude',
    text: teacherAnswer,
    price: { input: 3, output: 15 },
  });
  const gpt = new ScriptedModel({
    provider: 'openai',
    modelId: 'gpt-4.1',
    name: 'GPT',
    text: 'Paris (from GPT).',
  });
  const decisions: RouteDecision[] = [];
  const router = createRouter({
    local,
    teachers: [claude, gpt],
    onDecision: (decision) => decisions.push(decision),
    ...settings,
  });
  return { router, local, claude, gpt, decisions };
}

function routePartsOf(parts: readonly ChatStreamPart[]): RouteStreamPart[] {
  return parts.filter((part): part is RouteStreamPart => part.type === 'route');
}

const rateLimited = () =>
  new ApiCallError('Anthropic rate limit: retry after 20 s', {
    kind: 'rate-limit',
    provider: 'anthropic',
    statusCode: 429,
    responseBody:
      '{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}',
  });

describe('Router: the local model by default', () => {
  it('answers locally when the model is ready and the request fits, and announces the route first', async () => {
    const { router, local, claude, decisions } = setup();
    const parts = await partsOf(router.stream(ask('What is the capital of France?')));

    expect(parts[0]).toMatchObject({
      type: 'route',
      route: 'local',
      model: 'qwen2.5-1.5b',
      reason: 'local-default',
    });
    expect(shownText(parts)).toBe(localAnswer);
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', modelId: 'qwen2.5-1.5b' });
    expect(local.requests).toHaveLength(1);
    expect(claude.requests).toHaveLength(0);

    expect(decisions).toHaveLength(1);
    const [decision] = decisions;
    expect(decision).toMatchObject({
      route: 'local',
      reason: 'local-default',
      provider: 'local',
      modelId: 'qwen2.5-1.5b',
      category: 'general-knowledge',
      fallback: false,
      finishReason: 'stop',
      answer: { text: localAnswer, toolCalls: [] },
      usage: { outputTokens: 6 },
    });
    expect(decision!.request.messages[0]!.content).toBe('What is the capital of France?');
    expect(decision!.message).toMatch(/ready and the request fits it \(\d+ of 8192 tokens\)/);
    expect(decision!.latencyMs).toBeGreaterThan(0);
    expect(decision!.timeToFirstTokenMs).toBeLessThanOrEqual(decision!.latencyMs);
    expect(decision!.chain.map((attempt) => [attempt.route, attempt.outcome])).toEqual([
      ['local', 'answered'],
    ]);
  });

  it('returns the decision with the whole answer from generate()', async () => {
    const { router } = setup();
    const result = await router.generate(ask('What is the capital of France?'));
    expect(result.text).toBe(localAnswer);
    expect(result.decision).toMatchObject({ route: 'local', reason: 'local-default' });
  });

  it('says which model answered through the per-request callback too', async () => {
    const { router } = setup();
    const seen: string[] = [];
    await partsOf(router.stream({ ...ask('hi'), onDecision: (decision) => seen.push(decision.reason) }));
    expect(seen).toEqual(['local-default']);
  });
});

describe('Router: when the local model cannot answer', () => {
  it.each([
    [{ state: 'absent' } as const, 'local-absent', /not downloaded/],
    [{ state: 'downloading', progress: 0.42 } as const, 'local-downloading', /downloading \(42%\)/],
    [{ state: 'loading' } as const, 'local-loading', /still loading/],
    [
      { state: 'failed', reason: 'model.onnx is truncated' } as const,
      'local-failed',
      /model\.onnx is truncated/,
    ],
  ])('sends the request to the primary teacher while the model is %o', async (status, reason, message) => {
    const { router, local, claude, decisions } = setup();
    local.status = status;
    const parts = await partsOf(router.stream(ask('What is the capital of France?')));
    expect(routePartsOf(parts)).toEqual([
      expect.objectContaining({ route: 'teacher', model: 'claude-sonnet-4-5', reason }),
    ]);
    expect(shownText(parts)).toBe(teacherAnswer);
    expect(local.requests).toHaveLength(0);
    expect(claude.requests).toHaveLength(1);
    expect(decisions[0]!.message).toMatch(message);
  });

  it('uses the teachers alone when no local model is configured', async () => {
    const claude = new ScriptedModel({
      provider: 'anthropic',
      modelId: 'claude-sonnet-4-5',
      text: teacherAnswer,
    });
    const router = createRouter({ teachers: [claude] });
    const result = await router.generate(ask('hi'));
    expect(result.decision).toMatchObject({ route: 'teacher', reason: 'no-local-model' });
  });

  it('waits for a loading local model when there is no teacher', async () => {
    const local = new ScriptedLocalModel({ modelId: 'qwen', text: localAnswer });
    local.status = { state: 'loading' };
    const result = await createRouter({ local }).generate(ask('hi'));
    expect(result.text).toBe(localAnswer);
    expect(result.decision).toMatchObject({ route: 'local', reason: 'no-teacher' });
  });

  it('explains that nothing can answer when the local model failed and there is no teacher', async () => {
    const local = new ScriptedLocalModel({ modelId: 'qwen', text: localAnswer });
    local.status = { state: 'failed', reason: 'out of memory' };
    const decisions: RouteDecision[] = [];
    const router = createRouter({ local, onDecision: (decision) => decisions.push(decision) });
    const error = await router.generate(ask('hi')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoRouteError);
    expect((error as NoRouteError).code).toBe('router_no_route');
    expect((error as Error).message).toMatch(/out of memory.*No teacher is configured.*\[\[teachers\]\]/);
    expect(decisions[0]).toMatchObject({ route: 'none', reason: 'no-route', finishReason: 'error' });
  });

  it('sends requests with tools to a teacher when the local model cannot call tools', async () => {
    const { router, local, decisions } = setup();
    const tools = [{ name: 'read', description: 'Reads a file', inputSchema: { type: 'object' } }];
    await partsOf(router.stream(ask('Read package.json', { tools })));
    expect(decisions[0]).toMatchObject({ route: 'local', reason: 'local-default' });

    (local as { capabilities: { tools: boolean } }).capabilities.tools = false;
    await partsOf(router.stream(ask('Read package.json', { tools })));
    expect(decisions[1]).toMatchObject({ route: 'teacher', reason: 'needs-tools' });
    await partsOf(router.stream(ask('Read package.json', { tools, toolChoice: 'none' })));
    expect(decisions[2]).toMatchObject({ route: 'local', reason: 'local-default' });
  });

  it('sends images to a teacher that can see them, skipping one that cannot', async () => {
    const { router, claude, gpt, decisions } = setup();
    (gpt as { capabilities: { vision: boolean } }).capabilities.vision = true;
    const request = {
      messages: [
        {
          role: 'user' as const,
          content: [
            { type: 'text' as const, text: 'What is in this screenshot?' },
            { type: 'image' as const, data: 'iVBORw0KGgo=', mediaType: 'image/png' },
          ],
        },
      ],
    };
    const result = await router.generate(request);
    expect(result.text).toBe('Paris (from GPT).');
    expect(claude.requests).toHaveLength(0);
    expect(decisions[0]).toMatchObject({ route: 'teacher', reason: 'needs-vision', modelId: 'gpt-4.1' });
    expect(decisions[0]!.chain.map((attempt) => [attempt.name, attempt.outcome])).toEqual([
      ['Claude', 'skipped'],
      ['GPT', 'answered'],
    ]);
  });

  it('fails with the reasons when no model can take the request', async () => {
    const { router } = setup();
    const request = {
      messages: [
        {
          role: 'user' as const,
          content: [{ type: 'image' as const, data: 'AA==', mediaType: 'image/png' }],
        },
      ],
    };
    await expect(router.generate(request)).rejects.toThrow(/Claude cannot see images; GPT cannot see images/);
  });

  it('sends a prompt that does not fit the local context to a teacher (estimated at ~4 characters a token)', async () => {
    const { router, local, decisions } = setup();
    (local as { capabilities: { contextLength: number } }).capabilities.contextLength = 1024;
    await partsOf(router.stream(ask('x'.repeat(1000 * 4))));
    expect(decisions[0]).toMatchObject({ route: 'teacher', reason: 'context-too-long' });
    expect(decisions[0]!.message).toMatch(/about 1004 prompt tokens and 512 for the answer; .* holds 1024/);
    await partsOf(router.stream(ask('x'.repeat(400 * 4))));
    expect(decisions[1]).toMatchObject({ route: 'local' });
    // The request's own answer budget counts instead of the default reserve.
    await partsOf(router.stream(ask('x'.repeat(400 * 4), { maxTokens: 1000 })));
    expect(decisions[2]).toMatchObject({ route: 'teacher', reason: 'context-too-long' });
  });

  it('counts tokens with the supplied counter when there is one', async () => {
    const counted: number[] = [];
    const { router, local, decisions } = setup({
      countTokens: (request) => {
        const tokens = String(request.messages[0]!.content).split(' ').length * 100;
        counted.push(tokens);
        return tokens;
      },
    });
    (local as { capabilities: { contextLength: number } }).capabilities.contextLength = 1000;
    await partsOf(router.stream(ask('five short words right here')));
    expect(counted).toEqual([500]);
    expect(decisions[0]).toMatchObject({ route: 'teacher', reason: 'context-too-long', promptTokens: 500 });
    await partsOf(router.stream(ask('two words')));
    expect(decisions[1]).toMatchObject({ route: 'local', promptTokens: 200 });
  });
});

describe('Router: forcing a route', () => {
  it('obeys force: teacher (/teacher), from the request or from providerOptions', async () => {
    const { router, local, decisions } = setup();
    await partsOf(router.stream({ ...ask('hi'), force: 'teacher' }));
    await partsOf(router.stream(ask('hi', { providerOptions: { 'shammah-router': { force: 'teacher' } } })));
    await partsOf(router.stream({ ...ask('hi'), model: 'teacher' }));
    expect(decisions.map((decision) => [decision.route, decision.reason, decision.forced])).toEqual([
      ['teacher', 'forced-teacher', 'teacher'],
      ['teacher', 'forced-teacher', 'teacher'],
      ['teacher', 'forced-teacher', 'teacher'],
    ]);
    expect(local.requests).toHaveLength(0);
  });

  it('does not pass its own options on to the models', async () => {
    const { router, claude } = setup();
    await partsOf(
      router.stream({
        ...ask('hi', {
          providerOptions: { 'shammah-router': { force: 'teacher' }, anthropic: { thinking: true } },
        }),
        model: 'Claude',
      }),
    );
    const seen = claude.requests[0]!;
    expect(seen.providerOptions).toEqual({ anthropic: { thinking: true } });
    expect('model' in seen || 'force' in seen).toBe(false);
  });

  it('obeys force: local (/local) and model: "local"', async () => {
    const { router, decisions } = setup();
    await partsOf(router.stream({ ...ask('hi'), force: 'local' }));
    await partsOf(router.stream({ ...ask('hi'), model: 'LOCAL' }));
    expect(decisions.map((decision) => [decision.route, decision.reason])).toEqual([
      ['local', 'forced-local'],
      ['local', 'forced-local'],
    ]);
  });

  it('sends a request naming a teacher to it, by name, model id or provider:model', async () => {
    const { router, decisions } = setup();
    await partsOf(router.stream({ ...ask('hi'), model: 'gpt' }));
    await partsOf(router.stream({ ...ask('hi'), model: 'gpt-4.1' }));
    await partsOf(router.stream({ ...ask('hi'), model: 'anthropic:claude-sonnet-4-5' }));
    expect(decisions.map((decision) => [decision.reason, decision.modelId, decision.requestedModel])).toEqual(
      [
        ['requested-model', 'gpt-4.1', 'gpt'],
        ['requested-model', 'gpt-4.1', 'gpt-4.1'],
        ['requested-model', 'claude-sonnet-4-5', 'anthropic:claude-sonnet-4-5'],
      ],
    );
  });

  it('rejects an unknown model name, listing the ones it knows', async () => {
    const { router, decisions } = setup();
    const error = await router.generate({ ...ask('hi'), model: 'gemini' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownModelError);
    expect((error as Error).message).toBe(
      'The model "gemini" is not one the router knows. Use "auto", "teacher", "local", or a configured teacher: "Claude", "GPT".',
    );
    expect(decisions[0]).toMatchObject({
      route: 'none',
      reason: 'no-route',
      error: { code: 'router_unknown_model' },
    });
  });

  it('rejects a force it does not know', async () => {
    const { router } = setup();
    await expect(router.generate({ ...ask('hi'), force: 'cloud' as 'teacher' })).rejects.toBeInstanceOf(
      InvalidRouteRequestError,
    );
  });
});

describe('Router: crisis', () => {
  it('sends a crisis message to the strongest teacher, never the local model, even when /local was asked', async () => {
    const local = new ScriptedLocalModel({ modelId: 'qwen', text: localAnswer });
    const haiku = new ScriptedModel({ provider: 'anthropic', modelId: 'claude-haiku', text: 'fast answer' });
    const opus = new ScriptedModel({
      provider: 'anthropic',
      modelId: 'claude-opus',
      text: 'I hear you. You matter.',
    });
    const decisions: RouteDecision[] = [];
    const router = createRouter({
      local,
      teachers: [{ model: haiku }, { model: opus, strength: 10 }],
      onDecision: (decision) => decisions.push(decision),
    });
    for (const request of [
      ask('I want to kill myself'),
      { ...ask('I just want to end it all'), force: 'local' as const },
    ]) {
      const parts = await partsOf(router.stream(request));
      expect(routePartsOf(parts)[0]).toMatchObject({
        route: 'teacher',
        model: 'claude-opus',
        reason: 'crisis',
      });
      expect(shownText(parts)).toBe('I hear you. You matter.');
    }
    expect(local.requests).toHaveLength(0);
    expect(haiku.requests).toHaveLength(0);
    expect(decisions[0]!.crisis).toEqual({ kind: 'self-harm', phrase: 'kill myself' });
    // The teacher is told to take care.
    const system = opus.requests[0]!.messages[0]!;
    expect(system.role).toBe('system');
    expect(String(system.content)).toMatch(/may be in crisis.*988/s);
  });

  it('keeps a crisis with the teacher for the next few turns', async () => {
    const { router, decisions } = setup();
    const messages = [
      { role: 'user' as const, content: "I don't want to live anymore" },
      { role: 'assistant' as const, content: 'I am so sorry. Are you safe right now?' },
      { role: 'user' as const, content: 'not really' },
    ];
    await partsOf(router.stream({ messages }));
    expect(decisions[0]).toMatchObject({ route: 'teacher', reason: 'crisis' });
  });

  it('answers with crisis resources, not the local model, when no teacher can be reached', async () => {
    const { router, local, claude, gpt, decisions } = setup();
    const offline = (provider: string) =>
      new ApiCallError(`Could not reach ${provider}: getaddrinfo ENOTFOUND`, { kind: 'network', provider });
    claude.options = { ...claude.options, failure: { error: offline('anthropic') } };
    gpt.options = { ...gpt.options, failure: { error: offline('openai') } };
    const parts = await partsOf(router.stream(ask("I'm thinking about suicide")));
    const text = shownText(parts);
    expect(routePartsOf(parts)).toEqual([
      expect.objectContaining({ route: 'builtin', reason: 'crisis-offline' }),
    ]);
    expect(text).toMatch(/really sorry/);
    expect(text).toMatch(/988/);
    expect(text).toMatch(/findahelpline\.com/);
    expect(text).toMatch(/emergency number/);
    expect(local.requests).toHaveLength(0);
    expect(decisions[0]).toMatchObject({ route: 'builtin', reason: 'crisis-offline', fallback: true });
  });

  it('answers a medical emergency with the emergency number when offline and without teachers', async () => {
    const local = new ScriptedLocalModel({ modelId: 'qwen', text: localAnswer });
    const result = await createRouter({ local }).generate(ask('my dad is not breathing what do I do'));
    expect(result.decision).toMatchObject({ route: 'builtin', reason: 'crisis-offline' });
    expect(result.text).toMatch(/medical emergency.*emergency number/s);
    expect(local.requests).toHaveLength(0);
  });

  it('treats programming idioms as ordinary requests', async () => {
    const { router, decisions } = setup();
    for (const text of ['kill the process', 'this bug is killing me', 'execute the child process']) {
      await partsOf(router.stream(ask(text)));
    }
    expect(decisions.map((decision) => decision.route)).toEqual(['local', 'local', 'local']);
  });
});

describe('Router: falling back when the local model fails', () => {
  it('switches silently to a teacher when the local model fails before any text', async () => {
    const { router, local, decisions } = setup();
    local.options = {
      ...local.options,
      failure: { error: new Error('ORT: failed to allocate 512 MB'), afterTokens: 0 },
    };
    const parts = await partsOf(router.stream(ask('What is the capital of France?')));
    expect(routePartsOf(parts)).toEqual([
      expect.objectContaining({ route: 'teacher', model: 'claude-sonnet-4-5', reason: 'local-error' }),
    ]);
    expect(routePartsOf(parts)[0]!.restart).toBeUndefined();
    expect(
      parts
        .filter((part) => part.type === 'text-delta')
        .map((part) => (part as { text: string }).text)
        .join(''),
    ).toBe(teacherAnswer);
    expect(decisions[0]).toMatchObject({ route: 'teacher', reason: 'local-error', fallback: true });
    expect(decisions[0]!.message).toMatch(/failed before answering \(ORT: failed to allocate 512 MB\)/);
    expect(decisions[0]!.chain.map((attempt) => [attempt.route, attempt.outcome])).toEqual([
      ['local', 'failed'],
      ['teacher', 'answered'],
    ]);
  });

  it('replaces a local answer that breaks off mid-stream with the teacher’s, marked as a restart', async () => {
    const { router, local, decisions } = setup();
    local.options = {
      ...local.options,
      failure: { error: new Error('ORT: session run failed'), afterTokens: 3 },
    };
    const parts = await partsOf(router.stream(ask('What is the capital of France?')));
    const routes = routePartsOf(parts);
    expect(routes.map((part) => [part.route, part.reason, part.restart ?? false])).toEqual([
      ['local', 'local-default', false],
      ['teacher', 'local-error-mid-stream', true],
    ]);
    // The caller saw the start of the local answer, then the teacher's whole answer.
    const beforeRestart = parts.slice(0, parts.indexOf(routes[1]!));
    expect(shownText(beforeRestart)).toBe('Paris is the ');
    expect(shownText(parts)).toBe(teacherAnswer);
    expect(decisions[0]).toMatchObject({
      route: 'teacher',
      reason: 'local-error-mid-stream',
      answer: { text: teacherAnswer },
    });
    expect(decisions[0]!.chain.map((attempt) => attempt.outcome)).toEqual(['failed-mid-stream', 'answered']);
    // Whole answers drop the abandoned start.
    local.options = { ...local.options };
    expect((await router.generate(ask('What is the capital of France?'))).text).toBe(teacherAnswer);
    expect((await collectStream(router.stream(ask('What is the capital of France?')))).text).toBe(
      teacherAnswer,
    );
  });

  it('ends cleanly when the answer breaks off and no teacher can take over', async () => {
    const local = new ScriptedLocalModel({
      modelId: 'qwen',
      text: localAnswer,
      failure: { error: new Error('ORT: session run failed'), afterTokens: 2 },
    });
    const decisions: RouteDecision[] = [];
    const router = createRouter({ local, onDecision: (decision) => decisions.push(decision) });
    const parts = await partsOf(router.stream(ask('What is the capital of France?')));
    expect(shownText(parts)).toBe('Paris is ');
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'error' });
    expect(decisions[0]).toMatchObject({
      route: 'local',
      finishReason: 'error',
      error: { message: 'ORT: session run failed' },
    });
  });

  it('throws one error listing every failure when nothing could answer', async () => {
    const local = new ScriptedLocalModel({
      modelId: 'qwen',
      failure: { error: new Error('ORT: session run failed'), afterTokens: 0 },
    });
    const error = await createRouter({ local })
      .generate(ask('hi'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoRouteAnsweredError);
    expect((error as NoRouteAnsweredError).attempts).toHaveLength(1);
    expect((error as Error).message).toMatch(/local:qwen \(ORT: session run failed\)/);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

describe('Router: the teacher chain', () => {
  it.each([
    ['a rate limit', rateLimited()],
    [
      'a bad key',
      new ApiCallError('Anthropic rejected the API key', {
        kind: 'auth',
        provider: 'anthropic',
        statusCode: 401,
      }),
    ],
    [
      'a server error',
      new ApiCallError('Anthropic is overloaded', { kind: 'server', provider: 'anthropic', statusCode: 529 }),
    ],
  ])('falls through to the next teacher on %s', async (_name, error) => {
    const { router, local, claude, decisions } = setup();
    local.status = { state: 'loading' };
    claude.options = { ...claude.options, failure: { error } };
    const parts = await partsOf(router.stream(ask('hi')));
    expect(routePartsOf(parts)).toEqual([
      expect.objectContaining({ route: 'teacher', model: 'gpt-4.1', reason: 'local-loading' }),
    ]);
    expect(shownText(parts)).toBe('Paris (from GPT).');
    expect(decisions[0]).toMatchObject({ fallback: true, modelId: 'gpt-4.1' });
    expect(decisions[0]!.message).toContain(`Claude failed (${error.message}); GPT answered.`);
    expect(
      decisions[0]!.chain.map((attempt) => [attempt.name, attempt.outcome, attempt.error?.kind]),
    ).toEqual([
      ['Claude', 'failed', error.kind],
      ['GPT', 'answered', undefined],
    ]);
  });

  it('stops at an error the next teacher would give too (an invalid request)', async () => {
    const { router, local, claude, gpt } = setup();
    local.status = { state: 'loading' };
    claude.options = {
      ...claude.options,
      failure: {
        error: new ApiCallError('messages.0.content: must not be empty', {
          kind: 'invalid-request',
          provider: 'anthropic',
          statusCode: 400,
        }),
      },
    };
    const error = await router.generate(ask('hi')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoRouteAnsweredError);
    expect((error as NoRouteAnsweredError).attempts.map((attempt) => attempt.model)).toEqual(['Claude']);
    expect(gpt.requests).toHaveLength(0);
  });

  it('records the teacher’s cost when it can price its usage', async () => {
    const { router, local, decisions } = setup();
    local.status = { state: 'absent' };
    await partsOf(router.stream(ask('What is the capital of France?')));
    const { usage, costUsd } = decisions[0]!;
    expect(usage).toEqual({ inputTokens: 12, outputTokens: 9 });
    expect(costUsd).toBeCloseTo((12 * 3 + 9 * 15) / 1_000_000, 12);
    expect(router.snapshot().decisions.costUsd).toBeCloseTo(costUsd!, 12);
  });
});

describe('Router: confidence check', () => {
  it('escalates to a teacher when the first tokens are unlikely, without showing the local text', async () => {
    const { router, local, decisions } = setup({ confidence: { tokens: 4, minMeanLogprob: -1.5 } });
    local.options = { ...local.options, logprobs: [-0.5, -2.5, -3, -2] };
    const parts = await partsOf(router.stream(ask('What is the capital of France?')));
    expect(routePartsOf(parts)).toEqual([
      expect.objectContaining({ route: 'teacher', reason: 'low-confidence' }),
    ]);
    expect(shownText(parts)).toBe(teacherAnswer);
    expect(parts.some((part) => part.type === 'text-delta' && part.text.startsWith('Paris is'))).toBe(false);
    expect(local.requests[0]!.logprobs).toBe(true);
    expect(local.abandoned).toBe(1);
    expect(decisions[0]).toMatchObject({ route: 'teacher', reason: 'low-confidence', fallback: true });
    expect(decisions[0]!.chain[0]).toMatchObject({
      route: 'local',
      outcome: 'low-confidence',
      confidence: { tokens: 4, meanLogprob: -2, minLogprob: -3, passed: false },
    });
    expect(decisions[0]!.message).toMatch(
      /first 4 tokens had a mean log-probability of -2\.00 \(lowest -3\.00\)/,
    );
  });

  it('lets a confident local answer through, holding back only the first tokens, and hides logprobs nobody asked for', async () => {
    const { router, decisions } = setup({ confidence: { tokens: 4, minMeanLogprob: -1.5 } });
    const parts = await partsOf(router.stream(ask('What is the capital of France?')));
    expect(parts[0]).toMatchObject({ type: 'route', route: 'local' });
    expect(shownText(parts)).toBe(localAnswer);
    expect(parts.some((part) => part.type === 'logprobs')).toBe(false);
    expect(decisions[0]!.confidence).toEqual({
      tokens: 4,
      meanLogprob: expect.closeTo(-0.2, 10),
      minLogprob: -0.2,
      passed: true,
    });

    const withLogprobs = await partsOf(
      router.stream(ask('What is the capital of France?', { logprobs: true })),
    );
    expect(withLogprobs.filter((part) => part.type === 'logprobs')).toHaveLength(6);
  });

  it('judges an answer shorter than the window on what there is', async () => {
    const { router, local, decisions } = setup({ confidence: { tokens: 16, minMeanLogprob: -1 } });
    local.options = { ...local.options, text: 'Paris.', logprobs: -4 };
    const result = await router.generate(ask('What is the capital of France?'));
    expect(result.text).toBe(teacherAnswer);
    expect(decisions[0]!.chain[0]!.confidence).toMatchObject({ tokens: 1, passed: false });
  });

  it('escalates on one very unlikely token when a minimum is set', async () => {
    const { router, local, decisions } = setup({
      confidence: { tokens: 4, minMeanLogprob: -5, minTokenLogprob: -6 },
    });
    local.options = { ...local.options, logprobs: [-0.1, -0.1, -9, -0.1] };
    await partsOf(router.stream(ask('What is the capital of France?')));
    expect(decisions[0]).toMatchObject({ route: 'teacher', reason: 'low-confidence' });
  });

  it('cannot judge a model that reports no log-probabilities, and lets it answer', async () => {
    const { router, local, decisions } = setup({ confidence: true });
    local.options = { ...local.options, logprobs: undefined };
    const result = await router.generate(ask('What is the capital of France?'));
    expect(result.text).toBe(localAnswer);
    expect(decisions[0]!.confidence).toBeUndefined();
  });

  it('rejects thresholds that would escalate everything', () => {
    expect(() => setup({ confidence: { minMeanLogprob: 0.5 } })).toThrow(RouterConfigError);
    expect(() => setup({ confidence: { tokens: 0 } })).toThrow(/at least 1/);
  });
});

describe('Router: learning from feedback', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'shammah-router-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('moves a category to the teacher after bad feedback, back after good probes, and remembers across restarts', async () => {
    const path = join(directory, 'home', 'router.json');
    const open = () => RoutingLearning.open({ path, probeEvery: 2 });
    const debugQuestion = 'Why does this throw a TypeError?';
    let learning = await open();
    let { router, decisions } = setup({ learning });

    // Three local answers to debugging questions are rated critical.
    for (let index = 0; index < 3; index += 1) {
      const result = await router.generate(ask(debugQuestion));
      expect(result.decision).toMatchObject({ route: 'local', category: 'debug' });
      expect(router.feedback({ decisionId: result.decision.id, rating: 'critical' })).toMatchObject({
        applied: true,
      });
    }
    // Other categories are unaffected.
    expect((await router.generate(ask('Write a haiku about autumn'))).decision.route).toBe('local');

    // Debugging now goes to the teacher, with every second request probing the local model.
    const escalated = await router.generate(ask(debugQuestion));
    expect(escalated.decision).toMatchObject({ route: 'teacher', reason: 'learned-low-success' });
    expect(escalated.decision.message).toMatch(
      /"debug" requests are judged good \d+% of the time, under the 75% threshold/,
    );
    // Feedback on a teacher's answer says nothing about the local model.
    expect(router.feedback({ decisionId: escalated.decision.id, rating: 'good' })).toEqual({
      applied: false,
      category: 'debug',
      reason: 'teacher-answer',
    });

    // The learning survives a restart.
    await router.close();
    const saved = JSON.parse(await readFile(path, 'utf8'));
    expect(saved.categories.debug.observations).toBe(3);
    learning = await open();
    ({ router, decisions } = setup({ learning }));
    expect(learning.snapshot().categories.find((category) => category.name === 'debug')).toMatchObject({
      escalated: true,
      observations: 3,
    });

    // Probes answered well bring the category back.
    let goodProbes = 0;
    for (let request = 0; request < 100; request += 1) {
      const { decision } = await router.generate(ask(debugQuestion));
      if (decision.route === 'teacher') {
        expect(decision.reason).toBe('learned-low-success');
        continue;
      }
      if (decision.reason === 'local-default') break;
      expect(decision.reason).toBe('learning-probe');
      router.feedback({ query: debugQuestion, rating: 'good' });
      goodProbes += 1;
    }
    expect(decisions.at(-1)).toMatchObject({ route: 'local', reason: 'local-default' });
    expect(goodProbes).toBeGreaterThan(5);
    expect(goodProbes).toBeLessThan(30);
    await router.close();
    const reloaded = await open();
    expect(reloaded.snapshot().categories.find((category) => category.name === 'debug')!.escalated).toBe(
      false,
    );
  });

  it('counts a failed confidence check against the category', async () => {
    const learning = RoutingLearning.inMemory({ minSamples: 2 });
    const { router, local } = setup({ learning, confidence: { tokens: 2, minMeanLogprob: -1 } });
    local.options = { ...local.options, logprobs: -3 };
    await router.generate(ask('Why does this throw a TypeError?'));
    await router.generate(ask('Why does this throw a TypeError?'));
    expect(learning.snapshot().categories).toEqual([
      expect.objectContaining({ name: 'debug', observations: 2, failures: expect.closeTo(1.95, 5) }),
    ]);
  });

  it('answers locally when learning would escalate but no teacher is configured', async () => {
    const learning = RoutingLearning.inMemory({ minSamples: 1 });
    learning.recordFeedback('debug', 'critical');
    const local = new ScriptedLocalModel({ modelId: 'qwen', text: localAnswer });
    const result = await createRouter({ local, learning }).generate(ask('Why does this throw a TypeError?'));
    expect(result.decision).toMatchObject({ route: 'local', reason: 'no-teacher' });
  });

  it('falls back to the local model when learning chose a teacher and every teacher is down', async () => {
    const learning = RoutingLearning.inMemory({ minSamples: 1, probeEvery: 0 });
    learning.recordFeedback('debug', 'critical');
    const { router, claude, gpt, decisions } = setup({ learning });
    claude.options = { ...claude.options, failure: { error: rateLimited() } };
    gpt.options = {
      ...gpt.options,
      failure: { error: new ApiCallError('connect ECONNREFUSED', { kind: 'network', provider: 'openai' }) },
    };
    const result = await router.generate(ask('Why does this throw a TypeError?'));
    expect(result.text).toBe(localAnswer);
    expect(decisions[0]).toMatchObject({ route: 'local', reason: 'teachers-unavailable', fallback: true });
    expect(decisions[0]!.chain.map((attempt) => attempt.outcome)).toEqual(['failed', 'failed', 'answered']);
  });

  it('ignores feedback it cannot place', () => {
    const { router } = setup();
    expect(router.feedback({ decisionId: 'nope', rating: 'critical' })).toEqual({
      applied: false,
      category: 'other',
      reason: 'unknown-answer',
    });
  });
});

describe('Router: records and status', () => {
  it('keeps answering when a decision listener throws, and can unsubscribe listeners', async () => {
    const { router } = setup({
      onDecision: () => {
        throw new Error('metrics sink is down');
      },
    });
    const seen: string[] = [];
    const unsubscribe = router.onDecision((decision) => seen.push(decision.id));
    expect((await router.generate(ask('hi'))).text).toBe(localAnswer);
    unsubscribe();
    await router.generate(ask('hi'));
    expect(seen).toHaveLength(1);
  });

  it('ends with finish reason abort, and no fallback, when the caller cancels', async () => {
    const { router, claude, decisions } = setup();
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    for await (const part of router.stream(
      ask('What is the capital of France?', { signal: controller.signal }),
    )) {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    }
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'abort' });
    expect(claude.requests).toHaveLength(0);
    expect(decisions[0]).toMatchObject({ route: 'local', finishReason: 'abort' });
  });

  it('records a stream the caller stopped reading, and closes the model’s stream', async () => {
    const { router, local, decisions } = setup();
    for await (const part of router.stream(ask('What is the capital of France?'))) {
      if (part.type === 'text-delta') break;
    }
    expect(local.abandoned).toBe(1);
    expect(decisions[0]).toMatchObject({ route: 'local', finishReason: 'abort' });
    expect(decisions[0]!.chain[0]!.outcome).toBe('aborted');
  });

  it('counts decisions by route and reason for /metrics', async () => {
    const { router, local } = setup({ learning: RoutingLearning.inMemory() });
    await router.generate(ask('hi'));
    local.status = { state: 'loading' };
    await router.generate(ask('hi'));
    const snapshot = router.snapshot();
    expect(snapshot.local).toEqual({ provider: 'local', modelId: 'qwen2.5-1.5b', state: 'loading' });
    expect(snapshot.teachers.map((teacher) => teacher.name)).toEqual(['Claude', 'GPT']);
    expect(snapshot.decisions).toMatchObject({
      total: 2,
      byRoute: { local: 1, teacher: 1, builtin: 0, none: 0 },
      fallbacks: 0,
      errors: 0,
    });
    expect(snapshot.decisions.byReason['local-default']).toBe(1);
    expect(snapshot.decisions.byReason['local-loading']).toBe(1);
    expect(snapshot.learning?.queries).toBe(1);
  });

  it('offers the best of its models as its capabilities', () => {
    const { router, gpt } = setup();
    (gpt as { capabilities: { vision: boolean; contextLength: number } }).capabilities.vision = true;
    (gpt as { capabilities: { contextLength: number } }).capabilities.contextLength = 1_000_000;
    expect(router.capabilities).toMatchObject({ tools: true, vision: true, contextLength: 1_000_000 });
    expect(router.provider).toBe('shammah-router');
  });

  it('needs at least one model', () => {
    expect(() => createRouter({})).toThrow(RouterConfigError);
  });
});
