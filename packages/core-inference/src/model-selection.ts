import { totalmem } from 'node:os';

/** A model Shammah can recommend, with its rough footprint. */
export interface ModelChoice {
  repoId: string;
  /** Parameters, for display (`1.5B`). */
  parameters: string;
  /** RAM the machine should have for it to run comfortably, in GiB. */
  minimumRamGiB: number;
  /** Approximate download size of the default (4-bit) variant, in MB. */
  downloadMB: number;
}

/**
 * The ladder of default models by machine memory: about 8 GB → 1.5B, 16 GB → 3B, 32 GB → 7B,
 * 64 GB and more → 14B Qwen2.5-Instruct, and a sub-1B model for small machines.
 */
export const MODEL_LADDER: readonly ModelChoice[] = [
  { repoId: 'onnx-community/Qwen2.5-14B-Instruct', parameters: '14B', minimumRamGiB: 64, downloadMB: 10_000 },
  { repoId: 'onnx-community/Qwen2.5-7B-Instruct', parameters: '7B', minimumRamGiB: 32, downloadMB: 5_200 },
  { repoId: 'onnx-community/Qwen2.5-3B-Instruct', parameters: '3B', minimumRamGiB: 16, downloadMB: 2_300 },
  { repoId: 'onnx-community/Qwen2.5-1.5B-Instruct', parameters: '1.5B', minimumRamGiB: 8, downloadMB: 1_300 },
  { repoId: 'onnx-community/Qwen2.5-0.5B-Instruct', parameters: '0.5B', minimumRamGiB: 4, downloadMB: 480 },
  { repoId: 'HuggingFaceTB/SmolLM2-135M-Instruct', parameters: '135M', minimumRamGiB: 0, downloadMB: 180 },
];

/** RAM a machine sold as N GB reports a little less of; allow for it. */
const ADVERTISED_SLACK = 0.9;

/** The recommended model for a machine with `totalBytes` of memory (default: this one). */
export function recommendModel(totalBytes: number = totalmem()): ModelChoice {
  const gib = totalBytes / 1024 ** 3;
  return (
    MODEL_LADDER.find((choice) => gib >= choice.minimumRamGiB * ADVERTISED_SLACK) ?? MODEL_LADDER.at(-1)!
  );
}
