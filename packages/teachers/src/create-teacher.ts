import type { Logger, ModelCapabilities } from '@shammah/provider';
import { createAnthropicTeacher } from './anthropic-teacher.js';
import { TeacherConfigError } from './errors.js';
import { createGeminiTeacher } from './gemini-teacher.js';
import type { TeacherProvider } from './model-catalog.js';
import {
  createGroqTeacher,
  createMistralTeacher,
  createOpenAICompatibleTeacher,
  createOpenAITeacher,
  createXaiTeacher,
} from './openai-compatible-teachers.js';
import type { Teacher } from './teacher.js';
import { TeacherChain, type TeacherChainOptions } from './teacher-chain.js';
import type { TeacherSettings } from './teacher-settings.js';

/**
 * One `[[teachers]]` entry of `~/.shammah/config.toml`, as the original Shammah wrote it, plus optional
 * fields this package adds.
 */
export interface TeacherConfig {
  /** `claude`/`anthropic`, `openai`/`gpt`, `grok`/`xai`, `gemini`/`google`, `mistral`, `groq`, or `openai-compatible` (`ollama`, `llama.cpp`, `vllm`, `lmstudio`, `shammah`). */
  provider: string;
  api_key?: string;
  model?: string;
  base_url?: string;
  name?: string;
  /** Extra HTTP headers. */
  headers?: Record<string, string>;
  /** Seconds to wait for a response to start or continue. */
  timeout_seconds?: number;
  max_retries?: number;
  /** This model's price in USD per million tokens, replacing the built-in table. */
  price?: { input: number; output: number; cached_input?: number };
  /** The model's context window, for models the package does not know. */
  context_length?: number;
  max_output_tokens?: number;
}

/** What {@link createTeacher} takes besides the config entry. */
export interface CreateTeacherOptions {
  logger?: Logger;
  fetch?: typeof globalThis.fetch;
  env?: Record<string, string | undefined>;
}

const aliases: Record<string, TeacherProvider> = {
  claude: 'anthropic',
  anthropic: 'anthropic',
  openai: 'openai',
  gpt: 'openai',
  chatgpt: 'openai',
  grok: 'xai',
  xai: 'xai',
  'x.ai': 'xai',
  gemini: 'gemini',
  google: 'gemini',
  mistral: 'mistral',
  mistralai: 'mistral',
  groq: 'groq',
  'openai-compatible': 'openai-compatible',
  openai_compatible: 'openai-compatible',
  compatible: 'openai-compatible',
  custom: 'openai-compatible',
  ollama: 'openai-compatible',
  'llama.cpp': 'openai-compatible',
  llamacpp: 'openai-compatible',
  'llama-cpp': 'openai-compatible',
  vllm: 'openai-compatible',
  lmstudio: 'openai-compatible',
  'lm-studio': 'openai-compatible',
  shammah: 'openai-compatible',
};

/** Default addresses of well-known local servers, used when their entry has no `base_url`. */
const localServers: Record<string, string> = {
  ollama: 'http://127.0.0.1:11434/v1',
  'llama.cpp': 'http://127.0.0.1:8080/v1',
  llamacpp: 'http://127.0.0.1:8080/v1',
  'llama-cpp': 'http://127.0.0.1:8080/v1',
  vllm: 'http://127.0.0.1:8000/v1',
  lmstudio: 'http://127.0.0.1:1234/v1',
  'lm-studio': 'http://127.0.0.1:1234/v1',
  shammah: 'http://127.0.0.1:11435/v1',
};

/** The provider a config's `provider` names (aliases resolved), or throws {@link TeacherConfigError}. */
export function resolveProvider(name: string): TeacherProvider {
  const provider = aliases[name.trim().toLowerCase()];
  if (!provider) {
    throw new TeacherConfigError(
      `Unknown teacher provider "${name}". Use one of: claude, openai, grok, gemini, mistral, groq, ` +
        'or openai-compatible (with base_url) for Ollama, llama.cpp, vLLM, LM Studio or another Shammah.',
    );
  }
  return provider;
}

/**
 * A teacher from one `[[teachers]]` entry. `base_url` is honoured for every provider, and keys are used
 * as given (Groq's `gsk_…` included); a missing key falls back to the provider's environment variable.
 *
 * @example
 * ```ts
 * const teacher = createTeacher({ provider: 'claude', model: 'claude-sonnet-4-5', name: 'Claude' });
 * ```
 */
export function createTeacher(config: TeacherConfig, options: CreateTeacherOptions = {}): Teacher {
  if (!config || typeof config.provider !== 'string') {
    throw new TeacherConfigError(
      'A [[teachers]] entry needs a `provider` (claude, openai, grok, gemini, mistral, groq or openai-compatible).',
    );
  }
  const provider = resolveProvider(config.provider);
  const capabilities: Partial<ModelCapabilities> = {
    ...(config.context_length !== undefined ? { contextLength: config.context_length } : {}),
    ...(config.max_output_tokens !== undefined ? { maxOutputTokens: config.max_output_tokens } : {}),
  };
  const model = config.model?.trim() || undefined;
  const settings: TeacherSettings = {
    ...(config.api_key ? { apiKey: config.api_key } : {}),
    ...(model ? { model } : {}),
    ...(config.base_url ? { baseURL: config.base_url } : {}),
    ...(config.name ? { name: config.name } : {}),
    ...(config.headers ? { headers: config.headers } : {}),
    ...(config.timeout_seconds !== undefined ? { timeoutMs: config.timeout_seconds * 1000 } : {}),
    ...(config.max_retries !== undefined ? { retry: { maxRetries: config.max_retries } } : {}),
    ...(config.price && model
      ? {
          prices: {
            [model]: {
              input: config.price.input,
              output: config.price.output,
              ...(config.price.cached_input !== undefined ? { cachedInput: config.price.cached_input } : {}),
            },
          },
        }
      : {}),
    ...(Object.keys(capabilities).length > 0 ? { capabilities } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
  switch (provider) {
    case 'anthropic':
      return createAnthropicTeacher(settings);
    case 'openai':
      return createOpenAITeacher(settings);
    case 'gemini':
      return createGeminiTeacher(settings);
    case 'xai':
      return createXaiTeacher(settings);
    case 'mistral':
      return createMistralTeacher(settings);
    case 'groq':
      return createGroqTeacher(settings);
    case 'openai-compatible': {
      const baseURL = settings.baseURL ?? localServers[config.provider.trim().toLowerCase()];
      return createOpenAICompatibleTeacher({
        ...settings,
        baseURL: baseURL ?? '',
        model: settings.model ?? '',
      });
    }
  }
}

/**
 * A {@link TeacherChain} from the `[[teachers]]` list: the first entry is the primary, the rest are
 * fallbacks in order. With no entries and `ANTHROPIC_API_KEY` set, one Claude teacher, as the original did.
 *
 * @example
 * ```ts
 * const chain = createTeacherChain(config.teachers ?? []);
 * const result = await chain.generate({ messages });
 * console.log(`${result.teacher} answered`);
 * ```
 */
export function createTeacherChain(
  configs: readonly TeacherConfig[],
  options: CreateTeacherOptions & TeacherChainOptions = {},
): TeacherChain {
  const env = options.env ?? process.env;
  const entries =
    configs.length > 0 ? configs : env.ANTHROPIC_API_KEY ? [{ provider: 'claude', name: 'Claude' }] : [];
  if (entries.length === 0) {
    throw new TeacherConfigError(
      'No teachers are configured. Add a [[teachers]] entry (provider = "claude", api_key = "…") to ' +
        '~/.shammah/config.toml, or set ANTHROPIC_API_KEY.',
    );
  }
  return new TeacherChain(
    entries.map((entry) => createTeacher(entry, options)),
    options,
  );
}
