import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainerNotFoundError } from './errors.js';

/** How to start the Python trainer. */
export interface TrainerCommand {
  /** The Python of the training venv (torch, transformers, peft). */
  python: string;
  /** The `training/` directory holding the `shammah_training` package. */
  trainingDir: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function venvPython(trainingDir: string): string {
  return process.platform === 'win32'
    ? join(trainingDir, '.venv', 'Scripts', 'python.exe')
    : join(trainingDir, '.venv', 'bin', 'python');
}

/**
 * Finds the Python trainer: the given paths, else `SHAMMAH_TRAINING_DIR` / `SHAMMAH_TRAINING_PYTHON`,
 * else the `training/` folder of the Shammah checkout this package lives in (with its `.venv`).
 * Throws {@link TrainerNotFoundError} saying how to set it up.
 */
export async function locateTrainer(
  options: Partial<TrainerCommand> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<TrainerCommand> {
  let trainingDir = options.trainingDir ?? env.SHAMMAH_TRAINING_DIR;
  if (!trainingDir) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let depth = 0; depth < 6; depth++) {
      if (await exists(join(dir, 'training', 'shammah_training', 'lora', '__init__.py'))) {
        trainingDir = join(dir, 'training');
        break;
      }
      dir = dirname(dir);
    }
  }
  if (!trainingDir || !(await exists(join(trainingDir, 'shammah_training', 'lora', '__init__.py')))) {
    throw new TrainerNotFoundError(
      `LoRA training needs Shammah's Python trainer (the training/ folder of a Shammah checkout)${
        trainingDir ? `, and ${trainingDir} does not hold it` : ''
      }. Set SHAMMAH_TRAINING_DIR to that folder and run \`bash scripts/setup-python.sh\` there.`,
    );
  }
  trainingDir = resolve(trainingDir);
  const python = options.python ?? env.SHAMMAH_TRAINING_PYTHON ?? venvPython(trainingDir);
  if (!(await exists(python))) {
    throw new TrainerNotFoundError(
      `The training venv's Python ${python} does not exist. Run \`bash scripts/setup-python.sh\` in the Shammah checkout, ` +
        'or set SHAMMAH_TRAINING_PYTHON to a Python with torch, transformers and peft.',
    );
  }
  return { python, trainingDir };
}
