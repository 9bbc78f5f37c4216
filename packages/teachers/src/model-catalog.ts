import type { ModelCapabilities } from '@shammah/provider';

/** Prices in US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Input tokens read from the provider's prompt cache; defaults to `input`. */
  cachedInput?: number;
}

/** A provider this package talks to. */
export type TeacherProvider =
  | 'anthropic'
  | 'openai'
  | 'gemini'
  | 'xai'
  | 'mistral'
  | 'groq'
  | 'openai-compatible';

/** One known model: what it can do and what it costs. */
export interface ModelInfo {
  provider: TeacherProvider;
  /** Model id, or a prefix of dated ids (`claude-sonnet-4-5` matches `claude-sonnet-4-5-20250929`). */
  id: string;
  capabilities: ModelCapabilities;
  price?: ModelPrice;
  /** Reasoning models that reject sampling parameters (`temperature`, `top_p`). */
  fixedSampling?: boolean;
}

function model(
  provider: TeacherProvider,
  id: string,
  contextLength: number,
  maxOutputTokens: number,
  price: ModelPrice | undefined,
  extra: { vision?: boolean; tools?: boolean; fixedSampling?: boolean } = {},
): ModelInfo {
  return {
    provider,
    id,
    capabilities: {
      tools: extra.tools ?? true,
      streaming: true,
      vision: extra.vision ?? false,
      contextLength,
      maxOutputTokens,
    },
    ...(price ? { price } : {}),
    ...(extra.fixedSampling ? { fixedSampling: true } : {}),
  };
}

const vision = { vision: true };
const reasoning = { vision: true, fixedSampling: true };

/**
 * Known models, with list prices read from the providers' pricing pages in late 2026 (USD per
 * million tokens). Prices change: override them per teacher with `prices` (or `price` in the config).
 * A model missing here still works; its capabilities fall back to {@link defaultCapabilities} and its
 * cost is counted as unpriced.
 */
export const knownModels: readonly ModelInfo[] = [
  // Anthropic (Claude 5.x: 1M-token context, 128k output)
  model(
    'anthropic',
    'claude-fable-5-1',
    1_000_000,
    128_000,
    { input: 10, output: 50, cachedInput: 1 },
    vision,
  ),
  model(
    'anthropic',
    'claude-opus-5-5',
    1_000_000,
    128_000,
    { input: 4, output: 20, cachedInput: 0.4 },
    vision,
  ),
  model('anthropic', 'claude-opus-5', 1_000_000, 128_000, { input: 5, output: 25, cachedInput: 0.5 }, vision),
  model(
    'anthropic',
    'claude-sonnet-5-5',
    1_000_000,
    128_000,
    { input: 2, output: 10, cachedInput: 0.2 },
    vision,
  ),
  model(
    'anthropic',
    'claude-sonnet-5',
    1_000_000,
    128_000,
    { input: 2, output: 10, cachedInput: 0.2 },
    vision,
  ),
  model(
    'anthropic',
    'claude-haiku-5-5',
    1_000_000,
    128_000,
    { input: 0.1, output: 0.5, cachedInput: 0.01 },
    vision,
  ),
  model('anthropic', 'claude-opus-4-8', 200_000, 64_000, { input: 5, output: 25, cachedInput: 0.5 }, vision),
  model('anthropic', 'claude-opus-4-7', 200_000, 64_000, { input: 5, output: 25, cachedInput: 0.5 }, vision),
  model('anthropic', 'claude-opus-4-6', 200_000, 64_000, { input: 5, output: 25, cachedInput: 0.5 }, vision),
  model(
    'anthropic',
    'claude-sonnet-4-6',
    200_000,
    64_000,
    { input: 3, output: 15, cachedInput: 0.3 },
    vision,
  ),
  model('anthropic', 'claude-opus-4-5', 200_000, 64_000, { input: 5, output: 25, cachedInput: 0.5 }, vision),
  model('anthropic', 'claude-opus-4-1', 200_000, 32_000, { input: 15, output: 75, cachedInput: 1.5 }, vision),
  model('anthropic', 'claude-opus-4', 200_000, 32_000, { input: 15, output: 75, cachedInput: 1.5 }, vision),
  model(
    'anthropic',
    'claude-sonnet-4-5',
    200_000,
    64_000,
    { input: 3, output: 15, cachedInput: 0.3 },
    vision,
  ),
  model('anthropic', 'claude-sonnet-4', 200_000, 64_000, { input: 3, output: 15, cachedInput: 0.3 }, vision),
  model('anthropic', 'claude-haiku-4-5', 200_000, 64_000, { input: 1, output: 5, cachedInput: 0.1 }, vision),
  model(
    'anthropic',
    'claude-3-7-sonnet',
    200_000,
    64_000,
    { input: 3, output: 15, cachedInput: 0.3 },
    vision,
  ),
  model(
    'anthropic',
    'claude-3-5-haiku',
    200_000,
    8_192,
    { input: 0.8, output: 4, cachedInput: 0.08 },
    vision,
  ),
  // OpenAI
  model(
    'openai',
    'gpt-5.4-mini',
    400_000,
    128_000,
    { input: 0.75, output: 4.5, cachedInput: 0.075 },
    reasoning,
  ),
  model('openai', 'gpt-5.4', 400_000, 128_000, { input: 2.5, output: 15, cachedInput: 0.25 }, reasoning),
  model(
    'openai',
    'gpt-5-nano',
    400_000,
    128_000,
    { input: 0.05, output: 0.4, cachedInput: 0.005 },
    reasoning,
  ),
  model('openai', 'gpt-5-mini', 400_000, 128_000, { input: 0.25, output: 2, cachedInput: 0.025 }, reasoning),
  model('openai', 'gpt-5', 400_000, 128_000, { input: 1.25, output: 10, cachedInput: 0.125 }, reasoning),
  model('openai', 'gpt-4.1-nano', 1_047_576, 32_768, { input: 0.1, output: 0.4, cachedInput: 0.025 }, vision),
  model('openai', 'gpt-4.1-mini', 1_047_576, 32_768, { input: 0.4, output: 1.6, cachedInput: 0.1 }, vision),
  model('openai', 'gpt-4.1', 1_047_576, 32_768, { input: 2, output: 8, cachedInput: 0.5 }, vision),
  model('openai', 'gpt-4o-mini', 128_000, 16_384, { input: 0.15, output: 0.6, cachedInput: 0.075 }, vision),
  model('openai', 'gpt-4o', 128_000, 16_384, { input: 2.5, output: 10, cachedInput: 1.25 }, vision),
  model('openai', 'o4-mini', 200_000, 100_000, { input: 1.1, output: 4.4, cachedInput: 0.275 }, reasoning),
  model(
    'openai',
    'o3-mini',
    200_000,
    100_000,
    { input: 1.1, output: 4.4, cachedInput: 0.55 },
    {
      fixedSampling: true,
    },
  ),
  model('openai', 'o3', 200_000, 100_000, { input: 2, output: 8, cachedInput: 0.5 }, reasoning),
  // Google Gemini (prices for prompts up to 200k tokens; 3.8 Flash at its price through 2026)
  model(
    'gemini',
    'gemini-3.8-flash',
    1_048_576,
    65_536,
    { input: 0.75, output: 3.75, cachedInput: 0.075 },
    vision,
  ),
  model('gemini', 'gemini-3-pro', 1_048_576, 65_536, { input: 2, output: 12, cachedInput: 0.2 }, vision),
  model(
    'gemini',
    'gemini-2.5-pro',
    1_048_576,
    65_536,
    { input: 1.25, output: 10, cachedInput: 0.125 },
    vision,
  ),
  model(
    'gemini',
    'gemini-2.5-flash-lite',
    1_048_576,
    65_536,
    { input: 0.1, output: 0.4, cachedInput: 0.01 },
    vision,
  ),
  model(
    'gemini',
    'gemini-2.5-flash',
    1_048_576,
    65_536,
    { input: 0.3, output: 2.5, cachedInput: 0.03 },
    vision,
  ),
  model('gemini', 'gemini-2.0-flash-lite', 1_048_576, 8_192, { input: 0.075, output: 0.3 }, vision),
  model(
    'gemini',
    'gemini-2.0-flash',
    1_048_576,
    8_192,
    { input: 0.1, output: 0.4, cachedInput: 0.025 },
    vision,
  ),
  // xAI
  model('xai', 'grok-code-fast', 256_000, 16_384, { input: 0.2, output: 1.5, cachedInput: 0.02 }),
  model('xai', 'grok-4-fast', 2_000_000, 30_000, { input: 0.2, output: 0.5, cachedInput: 0.05 }, vision),
  model('xai', 'grok-4', 256_000, 64_000, { input: 3, output: 15, cachedInput: 0.75 }, vision),
  model('xai', 'grok-3-mini', 131_072, 16_384, { input: 0.3, output: 0.5, cachedInput: 0.075 }),
  model('xai', 'grok-3', 131_072, 16_384, { input: 3, output: 15, cachedInput: 0.75 }),
  // Mistral
  model('mistral', 'mistral-large', 128_000, 32_768, { input: 2, output: 6 }),
  model('mistral', 'mistral-medium', 128_000, 32_768, { input: 0.4, output: 2 }, vision),
  model('mistral', 'mistral-small', 128_000, 32_768, { input: 0.1, output: 0.3 }, vision),
  model('mistral', 'codestral', 256_000, 32_768, { input: 0.3, output: 0.9 }),
  model('mistral', 'devstral-medium', 128_000, 32_768, { input: 0.4, output: 2 }),
  model('mistral', 'devstral-small', 128_000, 32_768, { input: 0.1, output: 0.3 }),
  model('mistral', 'pixtral-large', 128_000, 32_768, { input: 2, output: 6 }, vision),
  // Groq
  model('groq', 'llama-3.3-70b-versatile', 131_072, 32_768, { input: 0.59, output: 0.79 }),
  model('groq', 'llama-3.1-8b-instant', 131_072, 131_072, { input: 0.05, output: 0.08 }),
  model('groq', 'openai/gpt-oss-120b', 131_072, 65_536, { input: 0.15, output: 0.75 }),
  model('groq', 'openai/gpt-oss-20b', 131_072, 65_536, { input: 0.1, output: 0.5 }),
  model('groq', 'moonshotai/kimi-k2-instruct', 131_072, 16_384, { input: 1, output: 3 }),
  model(
    'groq',
    'meta-llama/llama-4-scout-17b-16e-instruct',
    131_072,
    8_192,
    { input: 0.11, output: 0.34 },
    vision,
  ),
  model('groq', 'qwen/qwen3-32b', 131_072, 40_960, { input: 0.29, output: 0.59 }),
];

/** Capabilities assumed for a model missing from {@link knownModels}, per provider. */
export const defaultCapabilities: Readonly<Record<TeacherProvider, ModelCapabilities>> = {
  anthropic: { tools: true, streaming: true, vision: true, contextLength: 200_000, maxOutputTokens: 32_000 },
  openai: { tools: true, streaming: true, vision: true, contextLength: 128_000, maxOutputTokens: 16_384 },
  gemini: { tools: true, streaming: true, vision: true, contextLength: 1_048_576, maxOutputTokens: 8_192 },
  xai: { tools: true, streaming: true, vision: false, contextLength: 131_072, maxOutputTokens: 16_384 },
  mistral: { tools: true, streaming: true, vision: false, contextLength: 128_000, maxOutputTokens: 8_192 },
  groq: { tools: true, streaming: true, vision: false, contextLength: 131_072, maxOutputTokens: 8_192 },
  'openai-compatible': {
    tools: true,
    streaming: true,
    vision: false,
    contextLength: 8_192,
    maxOutputTokens: 4_096,
  },
};

/** The model used when a teacher's config names none. */
export const defaultModels: Readonly<Record<Exclude<TeacherProvider, 'openai-compatible'>, string>> = {
  anthropic: 'claude-sonnet-5-5',
  openai: 'gpt-5.4',
  gemini: 'gemini-3.8-flash',
  xai: 'grok-4',
  mistral: 'mistral-large-latest',
  groq: 'llama-3.3-70b-versatile',
};

/**
 * The known model that `modelId` is or is a dated/aliased version of, preferring the longest match.
 * Searches `provider` first, then every provider (a compatible server may serve a known model).
 */
export function findModel(provider: TeacherProvider, modelId: string): ModelInfo | undefined {
  const id = modelId.toLowerCase();
  const matches = (info: ModelInfo) =>
    id === info.id || id.startsWith(`${info.id}-`) || id.startsWith(`${info.id}@`);
  const best = (candidates: readonly ModelInfo[]) =>
    candidates.filter(matches).sort((a, b) => b.id.length - a.id.length)[0];
  return best(knownModels.filter((info) => info.provider === provider)) ?? best(knownModels);
}

/**
 * What `modelId` can do: the table's entry, else the provider's defaults, with `overrides` on top.
 *
 * @example
 * ```ts
 * capabilitiesFor('anthropic', 'claude-sonnet-4-5-20250929').contextLength; // 200000
 * ```
 */
export function capabilitiesFor(
  provider: TeacherProvider,
  modelId: string,
  overrides: Partial<ModelCapabilities> = {},
): ModelCapabilities {
  const known = findModel(provider, modelId);
  return { ...(known?.capabilities ?? defaultCapabilities[provider]), ...overrides };
}
