import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from './errors.js';
import { Generator } from './generator.js';
import { chooseVariant, readModelFiles } from './model-files.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama');

describe('choosing a variant', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prefers the quantized graph on auto, and any variant by name', async () => {
    const files = await readModelFiles(tiny);
    expect(chooseVariant(files).variant).toBe('q4');
    expect(chooseVariant(files, 'fp32').path).toBe(join(tiny, 'onnx', 'model.onnx'));
    expect(() => chooseVariant(files, 'int8')).toThrow(ModelNotFoundError);
    expect(() => chooseVariant(files, 'int8')).toThrow(/has no "int8" variant; it has q4, fp32/);
  });

  it('passes over a variant whose recorded quality check failed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shammah-variants-'));
    await cp(tiny, dir, { recursive: true });
    const manifestPath = join(dir, 'shammah_manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.variants.q4.quality = { passed: false, top1_agreement: 0.66, mean_kl: 0.44 };
    await writeFile(manifestPath, JSON.stringify(manifest));
    const files = await readModelFiles(dir);
    expect(chooseVariant(files).variant).toBe('fp32');
    expect(chooseVariant(files, 'q4').variant).toBe('q4');
  });
});

describe('ONNX Runtime GenAI folders', () => {
  const fused = join(import.meta.dirname, '..', 'fixtures', 'tiny-llama-fused');
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * tiny-llama-fused's genai-builder graph laid out as the builder writes a folder: genai_config.json,
   * the graph at the top level, the tokenizer files, and no config.json.
   */
  async function genaiFolder(): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), 'shammah-genai-'));
    for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
      await cp(join(fused, name), join(dir, name));
    }
    await cp(join(fused, 'onnx', 'model_fused_fp32.onnx'), join(dir, 'decoder.onnx'));
    const genaiConfig = {
      model: {
        bos_token_id: 1,
        context_length: 512,
        decoder: {
          session_options: { log_id: 'onnxruntime-genai', provider_options: [] },
          filename: 'decoder.onnx',
          head_size: 16,
          hidden_size: 64,
          inputs: {
            input_ids: 'input_ids',
            attention_mask: 'attention_mask',
            past_key_names: 'past_key_values.%d.key',
            past_value_names: 'past_key_values.%d.value',
          },
          outputs: {
            logits: 'logits',
            present_key_names: 'present.%d.key',
            present_value_names: 'present.%d.value',
          },
          num_attention_heads: 4,
          num_hidden_layers: 2,
          num_key_value_heads: 2,
        },
        eos_token_id: [2],
        pad_token_id: 2,
        type: 'llama',
        vocab_size: 384,
      },
      search: {
        diversity_penalty: 0.0,
        do_sample: false,
        early_stopping: true,
        length_penalty: 1.0,
        max_length: 512,
        min_length: 0,
        no_repeat_ngram_size: 0,
        num_beams: 1,
        num_return_sequences: 1,
        past_present_share_buffer: true,
        repetition_penalty: 1.0,
        temperature: 1.0,
        top_k: 1,
        top_p: 1.0,
      },
    };
    await writeFile(join(dir, 'genai_config.json'), JSON.stringify(genaiConfig, null, 4));
    return dir;
  }

  it('reads the model shape, stop ids and graph from genai_config.json', async () => {
    const files = await readModelFiles(await genaiFolder());
    expect(files.config).toMatchObject({
      model_type: 'llama',
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      hidden_size: 64,
      max_position_embeddings: 512,
      vocab_size: 384,
      eos_token_id: [2],
    });
    expect(files.generationConfig).toMatchObject({ eos_token_id: [2], do_sample: false });
    // Greedy in GenAI's terms; its top_k of 1 is not carried over as a sampling setting.
    expect(files.generationConfig.top_k).toBeUndefined();
    expect(chooseVariant(files)).toEqual({ variant: 'genai', path: join(dir, 'decoder.onnx') });
  });

  it("runs: greedy tokens through the Generator are PyTorch's", async () => {
    const reference = JSON.parse(await readFile(join(fused, 'reference.json'), 'utf8')) as {
      prompt: { input_ids: number[] };
      greedy: { with_cache: number[] };
    };
    const generator = await Generator.load({ model: await genaiFolder() });
    try {
      expect(generator.status).toMatchObject({ state: 'ready', variant: 'genai' });
      const ids: number[] = [];
      for await (const event of generator.generateTokens(reference.prompt.input_ids, {
        maxTokens: 16,
        ignoreEos: true,
      })) {
        if (event.type === 'token' && event.id >= 0) ids.push(event.id);
      }
      expect(ids).toEqual(reference.greedy.with_cache);
    } finally {
      await generator.dispose();
    }
  });

  it('says which file is missing when genai_config.json names a graph that is not there', async () => {
    const folder = await genaiFolder();
    await rm(join(folder, 'decoder.onnx'));
    await expect(readModelFiles(folder)).rejects.toThrow(/names the graph decoder\.onnx, which is not in/);
  });
});
