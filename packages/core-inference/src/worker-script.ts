import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The URL of a worker entry of this package (`name` as built, e.g. `decoder-worker.js`). */
function workerScript(name: string): URL {
  const beside = new URL(`./${name}`, import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  // Running from TypeScript sources (tests, benchmarks): use the built worker.
  return new URL(`../dist/${name}`, import.meta.url);
}

/**
 * Starts one of this package's worker entries. A worker inherits the process's Node flags, but
 * `--input-type` (from `node --input-type=module -e …`) makes a file entry fail to start, so it is
 * left out.
 */
export function startWorker(name: string): Worker {
  return new Worker(workerScript(name), {
    execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')),
  });
}
