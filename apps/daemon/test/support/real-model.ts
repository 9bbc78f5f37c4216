import { snapshotDir, WorkerGenerator } from '@shammah/core-inference';

/** The real development model every machine gets from `pnpm models:dev`. */
export const DEV_MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';

/**
 * The directory of the real SmolLM2-135M-Instruct model (or `SHAMMAH_TEST_MODEL`). Tests on the real
 * model never skip: a missing model is a broken setup that must fail loudly.
 */
export async function realModelDir(): Promise<string> {
  const override = process.env.SHAMMAH_TEST_MODEL;
  if (override) return override;
  const dir = await snapshotDir(DEV_MODEL);
  if (!dir) {
    throw new Error(`${DEV_MODEL} is not in the Hugging Face cache. Run \`pnpm models:dev\`.`);
  }
  return dir;
}

/** The real model on a worker thread, as the daemon runs it, in fp32 (sensible answers), loaded. */
export async function loadRealModel(): Promise<WorkerGenerator> {
  return WorkerGenerator.load({ model: await realModelDir(), variant: 'fp32' });
}
