/**
 * `manifest.json` of a trained adapter, `<adapters>/<version>/manifest.json`, as the Python trainer
 * writes it (format `shammah-lora-adapter/1`; snake_case keys, like the other files it writes).
 */
export interface AdapterManifest {
  format: 'shammah-lora-adapter/1';
  version: string;
  /** ISO time the adapter was published. */
  created_at: string;
  trainer_version: string;
  /** The base model the adapter was trained on: the runtime model's id, revision and source sha256. */
  base: {
    model_id: string | null;
    revision: string | null;
    /** The runtime model directory trained against. */
    dir: string | null;
    /** sha256 of the weights the runtime model was converted from (its `shammah_manifest.json` source). */
    sha256: string | null;
    source?: Record<string, unknown> | null;
  };
  examples: {
    count: number;
    total_weight: number;
    /** Count per weight, e.g. `{ "10": 2, "1": 5 }`. */
    by_weight: Record<string, number>;
    ids: string[];
    /** The examples trained on, in the adapter directory. */
    file: string;
    sha256: string;
  };
  hyperparameters: {
    epochs: number;
    learning_rate: number;
    rank: number;
    alpha: number;
    dropout: number;
    target_modules: string[];
    batch_size: number;
    max_length: number;
    max_steps: number | null;
    seed: number;
    [key: string]: unknown;
  };
  /** How weights were applied: `repeat-by-weight` (an example of weight w is trained on w times per epoch). */
  weighting: string;
  device: string;
  threads: number;
  metrics: {
    steps: number;
    train_seconds: number;
    loss_first_epoch: number | null;
    loss_last_epoch: number | null;
    /** Mean per-token log-probability of the examples' responses before and after training. */
    mean_logprob_before: number | null;
    mean_logprob_after: number | null;
    per_example_logprob: Record<string, { before: number; after: number }>;
    /** The exported fp32 graph against the trained PyTorch model. */
    export_parity: { positions: number; max_abs_diff: number; top1_agreement: number };
    /** The adapted model's greedy answer to "What is the capital of France?". */
    france_answer: string;
    timings_seconds: Record<string, number>;
    peak_rss_mb: { trainer: number; exporter: number };
    [key: string]: unknown;
  };
  model: {
    /** The merged model in the onnx-community layout, relative to the adapter directory. */
    dir: string;
    variants: string[];
    files: Record<string, string>;
  };
  adapter: { dir: string };
  tools: Record<string, string | null>;
}

/** The manifest format this package reads. */
export const ADAPTER_MANIFEST_FORMAT = 'shammah-lora-adapter/1';
