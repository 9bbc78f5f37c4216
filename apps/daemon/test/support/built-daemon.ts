import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('../../', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/**
 * Makes sure `dist/` is built from the current sources, since the tests run the real `shammah-daemon`
 * bin (which runs `dist/bin.js`) as a child process.
 */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = Math.min(
      statSync(join(packageDir, 'dist/bin.js')).mtimeMs,
      statSync(join(packageDir, 'dist/index.js')).mtimeMs,
    );
  } catch {
    built = 0;
  }
  if (built >= newestSource(join(packageDir, 'src'))) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json')], { stdio: 'inherit' });
}

/** The package's `shammah-daemon` bin. */
export const binPath = join(packageDir, 'bin/shammah-daemon.js');
