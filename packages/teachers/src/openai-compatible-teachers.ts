import { TeacherConfigError } from './errors.js';
import { defaultModels } from './model-catalog.js';
import type { OpenAIChatDialect } from './openai-chat-messages.js';
import { OpenAIChatTeacher } from './openai-chat-teacher.js';
import { optionalApiKey, resolveApiKey, type TeacherSettings } from './teacher-settings.js';

const openAIDialect: OpenAIChatDialect = {
  maxTokensField: 'max_completion_tokens',
  streamOptions: true,
  logprobs: true,
  topK: false,
  seedField: 'seed',
  requiredToolChoice: 'required',
  mistralToolMessages: false,
};

/** Removes a trailing slash so `…/v1/` and `…/v1` both work. */
function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * A teacher on OpenAI's Chat Completions API. The key defaults to `OPENAI_API_KEY`.
 *
 * @example
 * ```ts
 * const teacher = createOpenAITeacher({ model: 'gpt-4.1' });
 * const { text } = await teacher.generate({ messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function createOpenAITeacher(settings: TeacherSettings = {}): OpenAIChatTeacher {
  const env = ['OPENAI_API_KEY'];
  return new OpenAIChatTeacher(
    {
      provider: 'openai',
      label: 'OpenAI',
      baseURL: trimSlash(settings.baseURL ?? 'https://api.openai.com/v1'),
      apiKey: resolveApiKey('openai', settings, env),
      keyHint: 'OPENAI_API_KEY or api_key',
      modelId: settings.model ?? defaultModels.openai,
      dialect: openAIDialect,
    },
    settings,
  );
}

/**
 * A teacher on xAI's Grok models (OpenAI-compatible API at `https://api.x.ai/v1`). The key defaults
 * to `XAI_API_KEY`.
 *
 * @example
 * ```ts
 * const grok = createXaiTeacher({ model: 'grok-4' });
 * ```
 */
export function createXaiTeacher(settings: TeacherSettings = {}): OpenAIChatTeacher {
  const env = ['XAI_API_KEY'];
  return new OpenAIChatTeacher(
    {
      provider: 'xai',
      label: 'xAI',
      baseURL: trimSlash(settings.baseURL ?? 'https://api.x.ai/v1'),
      apiKey: resolveApiKey('xai', settings, env),
      keyHint: 'XAI_API_KEY or api_key',
      modelId: settings.model ?? defaultModels.xai,
      dialect: { ...openAIDialect, maxTokensField: 'max_tokens' },
    },
    settings,
  );
}

/**
 * A teacher on Mistral's chat API (`https://api.mistral.ai/v1`). The key defaults to
 * `MISTRAL_API_KEY`. Tool call ids from other providers are mapped to the 9-character ids Mistral
 * accepts, the same way for a call and its result.
 *
 * @example
 * ```ts
 * const mistral = createMistralTeacher({ model: 'codestral-latest' });
 * ```
 */
export function createMistralTeacher(settings: TeacherSettings = {}): OpenAIChatTeacher {
  const env = ['MISTRAL_API_KEY'];
  return new OpenAIChatTeacher(
    {
      provider: 'mistral',
      label: 'Mistral',
      baseURL: trimSlash(settings.baseURL ?? 'https://api.mistral.ai/v1'),
      apiKey: resolveApiKey('mistral', settings, env),
      keyHint: 'MISTRAL_API_KEY or api_key',
      modelId: settings.model ?? defaultModels.mistral,
      dialect: {
        maxTokensField: 'max_tokens',
        streamOptions: false,
        logprobs: false,
        topK: false,
        seedField: 'random_seed',
        requiredToolChoice: 'any',
        mistralToolMessages: true,
      },
    },
    settings,
  );
}

/**
 * A teacher on Groq (OpenAI-compatible API at `https://api.groq.com/openai/v1`). The key defaults to
 * `GROQ_API_KEY`; Groq's `gsk_…` keys are used as they are.
 *
 * @example
 * ```ts
 * const groq = createGroqTeacher({ model: 'llama-3.3-70b-versatile' });
 * ```
 */
export function createGroqTeacher(settings: TeacherSettings = {}): OpenAIChatTeacher {
  const env = ['GROQ_API_KEY'];
  return new OpenAIChatTeacher(
    {
      provider: 'groq',
      label: 'Groq',
      baseURL: trimSlash(settings.baseURL ?? 'https://api.groq.com/openai/v1'),
      apiKey: resolveApiKey('groq', settings, env),
      keyHint: 'GROQ_API_KEY or api_key',
      modelId: settings.model ?? defaultModels.groq,
      dialect: { ...openAIDialect, logprobs: false },
    },
    settings,
  );
}

/** Settings of {@link createOpenAICompatibleTeacher}: `baseURL` and `model` are required. */
export interface OpenAICompatibleSettings extends TeacherSettings {
  baseURL: string;
  model: string;
  /** Environment variables to read a key from when `apiKey` is unset. Default `OPENAI_COMPATIBLE_API_KEY`. */
  apiKeyEnvironmentVariables?: readonly string[];
}

/**
 * A teacher on any server that speaks OpenAI's Chat Completions: Ollama (`http://127.0.0.1:11434/v1`),
 * llama.cpp's server, vLLM, LM Studio, or another Shammah daemon (`http://127.0.0.1:11435/v1`). The key
 * is optional; without one no `Authorization` header is sent. The context length is unknown to the
 * package, so pass `capabilities: { contextLength }` for anything but small local models.
 *
 * @example
 * ```ts
 * const local = createOpenAICompatibleTeacher({ baseURL: 'http://127.0.0.1:11434/v1', model: 'qwen2.5-coder:7b' });
 * ```
 */
export function createOpenAICompatibleTeacher(settings: OpenAICompatibleSettings): OpenAIChatTeacher {
  if (!settings.baseURL) {
    throw new TeacherConfigError(
      'An OpenAI-compatible teacher needs a base URL, such as "http://127.0.0.1:11434/v1" for Ollama: ' +
        'set `base_url` in its [[teachers]] entry (`baseURL` in code).',
    );
  }
  if (!settings.model) {
    throw new TeacherConfigError(
      `The OpenAI-compatible teacher at "${settings.baseURL}" needs a model name: set \`model\` in its [[teachers]] entry.`,
    );
  }
  const env = settings.apiKeyEnvironmentVariables ?? ['OPENAI_COMPATIBLE_API_KEY'];
  return new OpenAIChatTeacher(
    {
      provider: 'openai-compatible',
      label: `OpenAI-compatible server ${trimSlash(settings.baseURL)}`,
      baseURL: trimSlash(settings.baseURL),
      apiKey: optionalApiKey(settings, env),
      keyHint: `${env.join(' or ')} or api_key`,
      modelId: settings.model,
      dialect: { ...openAIDialect, maxTokensField: 'max_tokens', topK: true },
    },
    settings,
  );
}
