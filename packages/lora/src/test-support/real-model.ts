import { snapshotDir } from '@shammah/core-inference';

/** The real development model every machine gets from `pnpm models:dev`. */
export const DEV_MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';

/**
 * The directory of the real SmolLM2-135M-Instruct model. Tests on the real model never skip: setup
 * installs it everywhere, and a missing model is a broken setup that must fail loudly.
 */
export async function realModelDir(): Promise<string> {
  const override = process.env.SHAMMAH_TEST_MODEL;
  if (override) return override;
  const dir = await snapshotDir(DEV_MODEL);
  if (!dir) {
    throw new Error(
      `The development model ${DEV_MODEL} is not in the Hugging Face cache. Run \`pnpm models:dev\` (or \`npm test\`, which sets it up).`,
    );
  }
  return dir;
}
