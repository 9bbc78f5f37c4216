import { snapshotDir } from '../src/model-cache.js';

/** One measured generation. */
export interface RunFigures {
  promptTokens: number;
  generatedTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  timeToFirstTokenMs: number;
}

/** What a runner process prints as its last line. */
export interface RunnerReport {
  runner: string;
  variant: string;
  runs: RunFigures[];
  peakRssMB: number;
  loadMs: number;
  /** For the bare step runner: median milliseconds of one decode step. */
  stepMs?: number;
}

export const MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';
export const PROMPT_TOKENS = 500;
export const NEW_TOKENS = 128;
export const RUNS = 3;

/** ~500 tokens of ordinary English prose, the same for every runner. */
export const PROMPT_TEXT = `You are reviewing the history of a small software project. ${'The team wrote a parser, then a type checker, then an interpreter; each step taught them something about the language they were building, and each mistake was fixed in a later release. '.repeat(14)}Summarise what the team learned.`;

export async function modelDir(): Promise<string> {
  const dir = await snapshotDir(MODEL);
  if (!dir) throw new Error(`${MODEL} is not installed: run pnpm models:dev`);
  return dir;
}

/** The GGUF file the development model was converted from (recorded in its manifest). */
export async function ggufPath(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const manifest = JSON.parse(await readFile(join(await modelDir(), 'shammah_manifest.json'), 'utf8')) as {
    source?: { kind?: string; path?: string };
  };
  const path = process.env.SHAMMAH_BENCH_GGUF ?? manifest.source?.path;
  if (!path) throw new Error('The model was not converted from a GGUF file: set SHAMMAH_BENCH_GGUF.');
  return path;
}

export function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function variantFile(variant: string): string {
  return variant === 'fp32' ? 'model.onnx' : `model_${variant.replaceAll('-', '_')}.onnx`;
}

export function report(value: RunnerReport): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
