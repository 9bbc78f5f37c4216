import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptModelError, ModelNotFoundError } from './errors.js';

/** The fields of `config.json` Shammah reads. Families name some of them differently. */
export interface ModelConfig {
  model_type?: string;
  architectures?: string[];
  hidden_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_dim?: number;
  max_position_embeddings?: number;
  vocab_size?: number;
  eos_token_id?: number | number[];
  bos_token_id?: number;
  [key: string]: unknown;
}

/** The fields of `generation_config.json` Shammah reads. */
export interface GenerationConfig {
  eos_token_id?: number | number[];
  bos_token_id?: number;
  pad_token_id?: number;
  do_sample?: boolean;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  repetition_penalty?: number;
  max_new_tokens?: number;
  [key: string]: unknown;
}

/** Everything read from a model directory before the graph is opened. */
export interface ModelFiles {
  dir: string;
  config: ModelConfig;
  generationConfig: GenerationConfig;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** The chat template, from `chat_template.jinja` or `tokenizer_config.json`; undefined if none. */
  chatTemplate: string | undefined;
  /** Variant name (`fp32`, `q4`, `int8`, …) to the ONNX file's path. */
  variants: Map<string, string>;
  /**
   * Variants that Shammah's converter measured and found below its quality bar
   * (`shammah_manifest.json`); `auto` passes over them.
   */
  failedQuality: Set<string>;
}

interface Manifest {
  variants?: Record<string, { file?: string; quality?: { passed?: boolean; pass?: boolean } }>;
}

/** Variants whose recorded quality check failed, by variant name. */
function failedVariants(manifest: Manifest | undefined): Set<string> {
  const failed = new Set<string>();
  for (const [name, entry] of Object.entries(manifest?.variants ?? {})) {
    const quality = entry.quality;
    if (quality && (quality.passed === false || quality.pass === false)) {
      const byFile = VARIANT_FILES.find(([, file]) => entry.file === `onnx/${file}`)?.[0];
      failed.add(byFile ?? name);
    }
  }
  return failed;
}

/** File names of the variants onnx-community repositories publish, most preferred on CPU first. */
export const VARIANT_FILES: ReadonlyArray<readonly [variant: string, file: string]> = [
  // Fused graphs (GroupQueryAttention + MatMulNBits) carrying a GGUF's Q4_1 blocks over exactly.
  ['fused-q41', 'model_fused_q41.onnx'],
  ['fused-q41-exact', 'model_fused_q41_exact.onnx'],
  ['q4', 'model_q4.onnx'],
  ['int8', 'model_int8.onnx'],
  ['quantized', 'model_quantized.onnx'],
  ['uint8', 'model_uint8.onnx'],
  ['fp32', 'model.onnx'],
  ['fp16', 'model_fp16.onnx'],
  ['q4f16', 'model_q4f16.onnx'],
  ['bnb4', 'model_bnb4.onnx'],
  ['fused-fp32', 'model_fused_fp32.onnx'],
];

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!required) return undefined;
    throw new ModelNotFoundError(
      `The model directory is missing ${path}. Download the model again (shammah models pull <repo>).`,
      { cause: error },
    );
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new CorruptModelError(
      `${path} is not valid JSON (${(error as Error).message}). The download is damaged: remove the model and pull it again.`,
      { cause: error },
    );
  }
}

/** The variant name of an ONNX Runtime GenAI folder's graph (`genai_config.json` names its file). */
export const GENAI_VARIANT = 'genai';

/** The parts of an ONNX Runtime GenAI `genai_config.json` Shammah reads. */
interface GenaiConfig {
  model?: {
    type?: string;
    bos_token_id?: number;
    eos_token_id?: number | number[];
    pad_token_id?: number;
    context_length?: number;
    vocab_size?: number;
    decoder?: {
      filename?: string;
      head_size?: number;
      hidden_size?: number;
      num_attention_heads?: number;
      num_key_value_heads?: number;
      num_hidden_layers?: number;
    };
  };
  search?: {
    do_sample?: boolean;
    temperature?: number;
    top_k?: number;
    top_p?: number;
    repetition_penalty?: number;
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** config.json and generation_config.json as an ONNX Runtime GenAI folder describes them. */
function fromGenaiConfig(genai: GenaiConfig): { config: ModelConfig; generation: GenerationConfig } {
  const model = genai.model ?? {};
  const decoder = model.decoder ?? {};
  const search = genai.search ?? {};
  return {
    config: withoutUndefined({
      model_type: model.type,
      hidden_size: decoder.hidden_size,
      num_hidden_layers: decoder.num_hidden_layers,
      num_attention_heads: decoder.num_attention_heads,
      num_key_value_heads: decoder.num_key_value_heads,
      head_dim: decoder.head_size,
      max_position_embeddings: model.context_length,
      vocab_size: model.vocab_size,
      eos_token_id: model.eos_token_id,
      bos_token_id: model.bos_token_id,
    }),
    generation: withoutUndefined({
      eos_token_id: model.eos_token_id,
      bos_token_id: model.bos_token_id,
      pad_token_id: model.pad_token_id,
      // GenAI's defaults (top_k 50, temperature 1) only apply when do_sample is on, as in transformers.
      do_sample: search.do_sample,
      ...(search.do_sample
        ? { temperature: search.temperature, top_k: search.top_k, top_p: search.top_p }
        : {}),
      repetition_penalty: search.repetition_penalty,
    }),
  };
}

/**
 * Reads configs, tokenizer files, the chat template and the ONNX variants of a model directory.
 *
 * Two layouts are read: the onnx-community one (`config.json`, graphs under `onnx/`), and the
 * ONNX Runtime GenAI one (`genai_config.json` naming a top-level graph, usually without
 * `config.json`), whose graph becomes the variant `genai`.
 */
export async function readModelFiles(dir: string): Promise<ModelFiles> {
  const genai = (await readJson(join(dir, 'genai_config.json'), false)) as GenaiConfig | undefined;
  const fromGenai = genai ? fromGenaiConfig(genai) : undefined;
  const config = {
    ...fromGenai?.config,
    ...((await readJson(join(dir, 'config.json'), !fromGenai)) as ModelConfig | undefined),
  } as ModelConfig;
  const generationConfig = ((await readJson(join(dir, 'generation_config.json'), false)) ??
    fromGenai?.generation ??
    {}) as GenerationConfig;
  const tokenizerJson = (await readJson(join(dir, 'tokenizer.json'), true))!;
  const tokenizerConfig = (await readJson(join(dir, 'tokenizer_config.json'), false)) ?? {};
  let chatTemplate: string | undefined;
  try {
    chatTemplate = await readFile(join(dir, 'chat_template.jinja'), 'utf8');
  } catch {
    const fromConfig = tokenizerConfig.chat_template;
    if (typeof fromConfig === 'string') chatTemplate = fromConfig;
    else if (Array.isArray(fromConfig)) {
      // Some repositories keep named templates: [{ name: 'default', template }, { name: 'tool_use', … }].
      const named = fromConfig as Array<{ name: string; template: string }>;
      chatTemplate = (named.find((entry) => entry.name === 'default') ?? named[0])?.template;
    }
  }
  const variants = new Map<string, string>();
  for (const [variant, file] of VARIANT_FILES) {
    const path = join(dir, 'onnx', file);
    if (await exists(path)) variants.set(variant, path);
  }
  if (genai) {
    const file = genai.model?.decoder?.filename ?? 'model.onnx';
    const path = join(dir, file);
    if (!(await exists(path))) {
      throw new ModelNotFoundError(
        `${join(dir, 'genai_config.json')} names the graph ${file}, which is not in ${dir}. Copy the whole model folder again.`,
      );
    }
    variants.set(GENAI_VARIANT, path);
  }
  if (variants.size === 0) {
    throw new ModelNotFoundError(
      `No ONNX model in ${join(dir, 'onnx')} (looked for ${VARIANT_FILES.map(([, file]) => file).join(', ')}) and no genai_config.json. ` +
        'Shammah runs ONNX exports such as the onnx-community repositories on the Hugging Face Hub, and ONNX Runtime GenAI folders.',
    );
  }
  const manifest = (await readJson(join(dir, 'shammah_manifest.json'), false)) as Manifest | undefined;
  return {
    dir,
    config,
    generationConfig,
    tokenizerJson,
    tokenizerConfig,
    chatTemplate,
    variants,
    failedQuality: failedVariants(manifest),
  };
}

/**
 * Picks the ONNX file to run: the requested variant, or on `auto` the most preferred one present
 * that did not fail a recorded quality check (fp32 when every quantized one did).
 */
export function chooseVariant(files: ModelFiles, requested = 'auto'): { variant: string; path: string } {
  if (requested !== 'auto') {
    // `fused_q41` (as the converter's manifest writes it) and `fused-q41` name the same variant.
    requested = requested.replaceAll('_', '-');
    const path = files.variants.get(requested);
    if (!path) {
      throw new ModelNotFoundError(
        `The model in ${files.dir} has no "${requested}" variant; it has ${[...files.variants.keys()].join(', ')}. ` +
          'Pick one of those, or "auto".',
      );
    }
    return { variant: requested, path };
  }
  const entries = [...files.variants.entries()];
  const [variant, path] =
    entries.find(([name]) => !files.failedQuality.has(name)) ??
    entries.find(([name]) => name === 'fp32') ??
    entries[0]!;
  return { variant, path };
}
