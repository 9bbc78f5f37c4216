/**
 * The one module that touches onnxruntime-node. Everything else in this package works with the
 * small surface exported here, so the runtime can be swapped or upgraded in one place.
 */

import type { Logger } from '@shammah/provider';
import * as ort from 'onnxruntime-node';

/** A tensor owned by the runtime. */
export type RuntimeTensor = ort.Tensor;

/** Element types Shammah feeds or reads. */
export type TensorType = 'float32' | 'float16' | 'int64' | 'int32';

/** An execution provider: where the graph runs. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'coreml' | 'dml' | 'webgpu';

/** Name, element type and shape (numbers, or names of symbolic dimensions) of a graph input or output. */
export interface ValueInfo {
  name: string;
  type: string;
  shape: Array<number | string>;
}

/** Settings for opening a model. */
export interface RuntimeSessionOptions {
  /** Tried in order; CPU is always the last resort. */
  executionProviders?: ExecutionProvider[];
  /** Threads for one operator; defaults to the runtime's choice (the physical cores). */
  intraOpThreads?: number;
  logger?: Logger;
}

/** An open model. */
export interface RuntimeSession {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /** The provider the session actually runs on. */
  readonly executionProvider: ExecutionProvider;
  /**
   * Runs the graph. Outputs named in `fetches` with a tensor are written into that tensor (no
   * allocation); outputs named with `null` are allocated by the runtime.
   */
  run(
    feeds: Record<string, RuntimeTensor>,
    fetches: Record<string, RuntimeTensor | null>,
  ): Promise<Record<string, RuntimeTensor>>;
  release(): Promise<void>;
}

type TypedData = Float32Array | Uint16Array | BigInt64Array | Int32Array;

/** Wraps a typed array (or a view of one) as a tensor without copying. */
export function createTensor(type: TensorType, data: TypedData, dims: readonly number[]): RuntimeTensor {
  return new ort.Tensor(type, data as never, dims);
}

/** Frees a tensor's native memory where the runtime holds any. */
export function disposeTensor(tensor: RuntimeTensor | undefined): void {
  tensor?.dispose();
}

/** The execution providers compiled into this build of the runtime. */
export function availableExecutionProviders(): ExecutionProvider[] {
  const found = new Set<ExecutionProvider>(['cpu']);
  for (const backend of ort.listSupportedBackends()) {
    if (!backend.bundled && backend.name !== 'cuda') continue;
    if (
      backend.name === 'cuda' ||
      backend.name === 'webgpu' ||
      backend.name === 'coreml' ||
      backend.name === 'dml'
    ) {
      found.add(backend.name);
    }
  }
  return [...found];
}

function valueInfo(metadata: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return metadata.map((entry) =>
    entry.isTensor
      ? { name: entry.name, type: entry.type, shape: [...entry.shape] }
      : { name: entry.name, type: 'non-tensor', shape: [] },
  );
}

/**
 * Opens an ONNX model, trying each requested execution provider in turn and falling back to CPU
 * with a warning when one is unavailable.
 */
export async function openSession(
  path: string,
  options: RuntimeSessionOptions = {},
): Promise<RuntimeSession> {
  const log = options.logger?.child({ module: 'onnx-runtime' });
  const wanted = [...(options.executionProviders ?? ['cpu'])];
  if (!wanted.includes('cpu')) wanted.push('cpu');
  let lastError: unknown;
  for (const provider of wanted) {
    try {
      const session = await ort.InferenceSession.create(path, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
        interOpNumThreads: 1,
        logSeverityLevel: 3,
      });
      log?.debug({ path, provider }, 'model session opened');
      return {
        inputs: valueInfo(session.inputMetadata),
        outputs: valueInfo(session.outputMetadata),
        executionProvider: provider,
        run: (feeds, fetches) => session.run(feeds, fetches),
        release: () => session.release(),
      };
    } catch (error) {
      lastError = error;
      if (provider !== 'cpu') {
        log?.warn({ provider, error: String(error) }, 'execution provider unavailable, trying the next one');
      }
    }
  }
  throw lastError;
}
