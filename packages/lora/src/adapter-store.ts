import { access, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { shammahPaths, writeFileAtomic } from '@shammah/config';
import { type Logger, silentLogger } from '@shammah/provider';
import { ADAPTER_MANIFEST_FORMAT, type AdapterManifest } from './adapter-manifest.js';
import { AdapterActiveError, AdapterNotFoundError, CorruptAdapterError } from './errors.js';

/** Settings of an {@link AdapterStore}. */
export interface AdapterStoreOptions {
  /** The adapters directory. Default: `adapters` in Shammah's home. */
  dir?: string;
  /** Shammah's home, when `dir` is not given. Default: `SHAMMAH_HOME`, else `~/.shammah`. */
  home?: string;
  logger?: Logger;
}

/** One trained adapter. */
export interface AdapterInfo {
  /** `v1`, `v2`, … */
  version: string;
  /** The number in the version, for sorting. */
  number: number;
  /** `<adapters>/<version>`. */
  dir: string;
  /** The merged model in the onnx-community layout: what the runtime loads. */
  modelDir: string;
  manifest: AdapterManifest;
  /** Whether the `active` pointer names it. */
  active: boolean;
}

/** The `active` pointer file: which adapter the runtime serves (`version: null` is the base model). */
export interface ActivePointer {
  version: string | null;
  /** ISO time of the change. */
  activatedAt: string;
  /** What was active before, for the record. */
  previous: string | null;
}

/** The base model the runtime would serve without an adapter. */
export interface BaseModelRef {
  /** Its model directory (for a Hub model, the cache snapshot directory). */
  dir: string;
}

/** Which directory the runtime should load, and why. */
export interface ResolvedModel {
  kind: 'base' | 'adapter';
  dir: string;
  /** The adapter's version when `kind` is `adapter`. */
  version?: string;
  /** In words, for logs and `shammah lora list`. */
  reason: string;
}

const VERSION = /^v(\d+)$/;
const STAGING_VERSION = /^\.v(\d+)\.tmp-/;
const POINTER = 'active';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** What identifies the weights of a runtime model directory. */
async function fingerprint(dir: string): Promise<{ sha256?: string; revision?: string }> {
  const result: { sha256?: string; revision?: string } = {};
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'shammah_manifest.json'), 'utf8')) as {
      source?: { sha256?: unknown };
    };
    if (typeof manifest.source?.sha256 === 'string') result.sha256 = manifest.source.sha256;
  } catch {
    // A model without Shammah's manifest (downloaded from the Hub): only its revision tells.
  }
  if (basename(dirname(dir)) === 'snapshots') result.revision = basename(dir);
  return result;
}

/**
 * The trained adapters in `~/.shammah/adapters/` (or `SHAMMAH_HOME`), and which one the runtime
 * serves. Each adapter is a directory `v<N>/` published whole by the trainer (`manifest.json`, the
 * PEFT `adapter/`, the merged ONNX `model/`, the `examples.jsonl` it learnt from). The `active` file
 * names the served adapter and is replaced atomically; rolling back points it at the base model.
 *
 * @example
 * ```ts
 * import { createAdapterStore } from '@shammah/lora';
 *
 * const store = createAdapterStore();
 * for (const adapter of await store.list()) console.log(adapter.version, adapter.active);
 * const dir = await store.activeModelDir({ dir: baseSnapshotDir }); // what Generator.load should load
 * await store.rollback(); // back to the base model
 * ```
 */
export class AdapterStore {
  /** The adapters directory. */
  readonly dir: string;
  readonly #log: Logger;

  constructor(options: AdapterStoreOptions = {}) {
    this.dir = options.dir ?? shammahPaths(options.home).adapters;
    this.#log = (options.logger ?? silentLogger).child({ module: 'adapter-store' });
  }

  /** The `active` pointer file. */
  get pointerPath(): string {
    return join(this.dir, POINTER);
  }

  async #versions(): Promise<Array<{ version: string; number: number }>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => ({ version: name, match: VERSION.exec(name) }))
      .filter((entry) => entry.match)
      .map((entry) => ({ version: entry.version, number: Number(entry.match![1]) }))
      .sort((a, b) => a.number - b.number);
  }

  async #load(version: string, active: string | null): Promise<AdapterInfo> {
    const match = VERSION.exec(version);
    const dir = join(this.dir, version);
    if (!match || !(await exists(dir))) {
      throw new AdapterNotFoundError(
        version,
        (await this.#versions()).map((entry) => entry.version),
      );
    }
    let manifest: AdapterManifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as AdapterManifest;
    } catch (error) {
      throw new CorruptAdapterError(
        version,
        `Adapter ${version} has no readable manifest.json (${(error as Error).message}). Remove ${dir} and train again.`,
        { cause: error },
      );
    }
    if (manifest.format !== ADAPTER_MANIFEST_FORMAT) {
      throw new CorruptAdapterError(
        version,
        `Adapter ${version} is in format ${JSON.stringify(manifest.format)}; this Shammah reads ${ADAPTER_MANIFEST_FORMAT}. Upgrade Shammah or train again.`,
      );
    }
    const modelDir = join(dir, manifest.model?.dir ?? 'model');
    const files = ['config.json', 'tokenizer.json', ...Object.values(manifest.model?.files ?? {})];
    for (const file of files) {
      if (!(await exists(join(modelDir, file)))) {
        throw new CorruptAdapterError(
          version,
          `Adapter ${version} is incomplete: ${join(modelDir, file)} is missing. Remove ${dir} and train again.`,
        );
      }
    }
    return { version, number: Number(match[1]), dir, modelDir, manifest, active: active === version };
  }

  /** Reads the `active` pointer; no pointer (or an unreadable one) means the base model. */
  async readPointer(): Promise<ActivePointer> {
    try {
      const pointer = JSON.parse(await readFile(this.pointerPath, 'utf8')) as Partial<ActivePointer>;
      return {
        version: typeof pointer.version === 'string' ? pointer.version : null,
        activatedAt: typeof pointer.activatedAt === 'string' ? pointer.activatedAt : '',
        previous: typeof pointer.previous === 'string' ? pointer.previous : null,
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#log.warn(
          { path: this.pointerPath, error: (error as Error).message },
          'unreadable active pointer',
        );
      }
      return { version: null, activatedAt: '', previous: null };
    }
  }

  async #writePointer(version: string | null): Promise<ActivePointer> {
    const current = await this.readPointer();
    const pointer: ActivePointer = {
      version,
      activatedAt: new Date().toISOString(),
      previous: current.version,
    };
    await writeFileAtomic(this.pointerPath, `${JSON.stringify(pointer, null, 2)}\n`);
    return pointer;
  }

  /** Every complete adapter, oldest first. Incomplete or unreadable ones are logged and left out. */
  async list(): Promise<AdapterInfo[]> {
    const { version: active } = await this.readPointer();
    const adapters: AdapterInfo[] = [];
    for (const entry of await this.#versions()) {
      try {
        adapters.push(await this.#load(entry.version, active));
      } catch (error) {
        this.#log.warn({ version: entry.version, error: (error as Error).message }, 'skipping adapter');
      }
    }
    return adapters;
  }

  /** One adapter; throws {@link AdapterNotFoundError} or {@link CorruptAdapterError}. */
  async get(version: string): Promise<AdapterInfo> {
    return this.#load(version, (await this.readPointer()).version);
  }

  /** The newest complete adapter, active or not. */
  async latest(): Promise<AdapterInfo | undefined> {
    return (await this.list()).at(-1);
  }

  /** The active adapter, or undefined when the base model is active. */
  async active(): Promise<AdapterInfo | undefined> {
    const { version } = await this.readPointer();
    if (version === null) return undefined;
    try {
      return await this.#load(version, version);
    } catch (error) {
      this.#log.warn({ version, error: (error as Error).message }, 'the active adapter is unusable');
      return undefined;
    }
  }

  /** Makes `version` the served model (after checking it is complete). */
  async activate(version: string): Promise<AdapterInfo> {
    const adapter = await this.get(version);
    await this.#writePointer(version);
    this.#log.info({ version }, 'adapter activated');
    return { ...adapter, active: true };
  }

  /** Goes back to the base model. Returns the pointer as written (`previous` says what was active). */
  async rollback(): Promise<ActivePointer> {
    const pointer = await this.#writePointer(null);
    this.#log.info({ previous: pointer.previous }, 'rolled back to the base model');
    return pointer;
  }

  /**
   * Which directory the runtime should load: the active adapter's merged model, or `base.dir` when no
   * adapter is active, the active one is incomplete, or it was trained on other base weights than
   * `base.dir` holds (the model was changed since).
   */
  async resolveModel(base: BaseModelRef): Promise<ResolvedModel> {
    const { version } = await this.readPointer();
    if (version === null) return { kind: 'base', dir: base.dir, reason: 'no adapter is active' };
    let adapter: AdapterInfo;
    try {
      adapter = await this.#load(version, version);
    } catch (error) {
      this.#log.warn({ version, error: (error as Error).message }, 'serving the base model instead');
      return {
        kind: 'base',
        dir: base.dir,
        reason: `adapter ${version} is unusable: ${(error as Error).message}`,
      };
    }
    const actual = await fingerprint(base.dir);
    const trained = adapter.manifest.base;
    const mismatch =
      trained.sha256 && actual.sha256
        ? trained.sha256 !== actual.sha256
        : Boolean(trained.revision && actual.revision && trained.revision !== actual.revision);
    if (mismatch) {
      const reason = `adapter ${version} was trained on other base weights than ${base.dir}; train again for this model`;
      this.#log.warn({ version, base: base.dir }, reason);
      return { kind: 'base', dir: base.dir, reason };
    }
    return { kind: 'adapter', dir: adapter.modelDir, version, reason: `adapter ${version} is active` };
  }

  /** The directory the runtime should load (see {@link resolveModel}). */
  async activeModelDir(base: BaseModelRef): Promise<string> {
    return (await this.resolveModel(base)).dir;
  }

  /** The version the next training publishes: one past the highest in use (finished or in progress). */
  async nextVersion(): Promise<string> {
    let highest = 0;
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      // No adapters yet.
    }
    for (const name of names) {
      const match = VERSION.exec(name) ?? STAGING_VERSION.exec(name);
      if (match) highest = Math.max(highest, Number(match[1]));
    }
    return `v${highest + 1}`;
  }

  /** Deletes an adapter; refuses the active one ({@link AdapterActiveError}). */
  async remove(version: string): Promise<void> {
    const { version: active } = await this.readPointer();
    if (active === version) throw new AdapterActiveError(version);
    if (!VERSION.test(version) || !(await exists(join(this.dir, version)))) {
      throw new AdapterNotFoundError(
        version,
        (await this.#versions()).map((entry) => entry.version),
      );
    }
    await rm(join(this.dir, version), { recursive: true, force: true });
    this.#log.info({ version }, 'adapter removed');
  }

  /** Deletes all but the newest `keep` adapters, never the active one. Returns the removed versions. */
  async prune(keep: number): Promise<string[]> {
    const { version: active } = await this.readPointer();
    const versions = await this.#versions();
    const removed: string[] = [];
    for (const entry of versions.slice(0, Math.max(0, versions.length - keep))) {
      if (entry.version === active) continue;
      await rm(join(this.dir, entry.version), { recursive: true, force: true });
      removed.push(entry.version);
    }
    if (removed.length > 0) this.#log.info({ removed }, 'pruned old adapters');
    return removed;
  }
}

/** Creates the {@link AdapterStore} in Shammah's home (or at `dir`). */
export function createAdapterStore(options: AdapterStoreOptions = {}): AdapterStore {
  return new AdapterStore(options);
}
