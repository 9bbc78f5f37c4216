import type { ModelConfig, ModelFiles } from './model-files.js';

/**
 * What differs between model families, kept as data so the generation loop never branches on a
 * family. Families that the runtime treats alike (Llama, Mistral, SmolLM2) share one description.
 */
export interface ModelFamily {
  /** `qwen2`, `llama`, … */
  readonly name: string;
  /** `model_type` values of config.json this family covers. */
  readonly modelTypes: readonly string[];
  /** Tokens (by text) that end the assistant's turn, besides the configured EOS ids. */
  readonly stopTokens: readonly string[];
  /**
   * Whether the family's templates take a `system` message; if not it is merged into the first user
   * turn. ChatTokenizer also merges it for any template that rejects or drops a system turn.
   */
  readonly systemRole: boolean;
  /** Tool-call syntax the family's template teaches the model, when it has one. */
  readonly toolCallFormat: 'hermes' | 'llama3-json' | 'none';
  /** The context length to assume when config.json does not say. */
  readonly defaultContextLength: number;
}

const CHATML_STOPS = ['<|im_end|>', '<|im_start|>', '<|endoftext|>'];

/** The families Shammah knows. */
export const MODEL_FAMILIES: readonly ModelFamily[] = [
  {
    // Qwen2/2.5/3, and DeepSeek-R1-Distill-Qwen, whose tokenizer renames the ChatML tokens.
    name: 'qwen2',
    modelTypes: ['qwen2', 'qwen2_moe', 'qwen3'],
    stopTokens: [...CHATML_STOPS, '<｜end▁of▁sentence｜>', '<｜User｜>'],
    systemRole: true,
    toolCallFormat: 'hermes',
    defaultContextLength: 32768,
  },
  {
    // Llama 2/3.x, TinyLlama, SmolLM/SmolLM2, Mistral and DeepSeek distills on Llama.
    name: 'llama',
    modelTypes: ['llama', 'mistral', 'smollm3'],
    stopTokens: [...CHATML_STOPS, '<|eot_id|>', '<|eom_id|>', '<|end_of_text|>', '</s>'],
    systemRole: true,
    toolCallFormat: 'hermes',
    defaultContextLength: 8192,
  },
  {
    name: 'phi3',
    modelTypes: ['phi3', 'phi'],
    stopTokens: ['<|end|>', '<|endoftext|>', '<|user|>'],
    systemRole: true,
    toolCallFormat: 'none',
    defaultContextLength: 4096,
  },
  {
    name: 'gemma',
    modelTypes: ['gemma', 'gemma2', 'gemma3_text'],
    stopTokens: ['<end_of_turn>', '<eos>'],
    systemRole: false,
    toolCallFormat: 'none',
    defaultContextLength: 8192,
  },
];

/** Names of supported `model_type` values, for error messages. */
export function supportedModelTypes(): string[] {
  return MODEL_FAMILIES.flatMap((family) => family.modelTypes);
}

/**
 * The token ids that end the assistant's turn: the EOS ids of generation_config.json and
 * config.json, and the family's end-of-turn tokens that the vocabulary has.
 *
 * @example
 * const stops = familyStopTokenIds(family, files, (text) => tokenizer.tokenId(text));
 */
export function familyStopTokenIds(
  family: ModelFamily,
  files: Pick<ModelFiles, 'config' | 'generationConfig'>,
  tokenId: (text: string) => number | undefined,
): Set<number> {
  const ids = new Set<number>([
    ...asArray(files.generationConfig.eos_token_id),
    ...asArray(files.config.eos_token_id),
  ]);
  for (const text of family.stopTokens) {
    const id = tokenId(text);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

function asArray(value: number | number[] | undefined): number[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The family of a model, or undefined when Shammah does not know it. */
export function familyOf(config: ModelConfig): ModelFamily | undefined {
  const type = config.model_type?.toLowerCase();
  return MODEL_FAMILIES.find((family) => type !== undefined && family.modelTypes.includes(type));
}
