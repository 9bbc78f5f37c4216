/**
 * The one module that touches onnxruntime-node (with `ort-c-api.ts`, its C API). Everything else in
 * this package works with the small surface exported here, so the runtime can be swapped or
 * upgraded in one place.
 *
 * Sessions on the CPU run through the C API where it loads: outputs are written in place and never
 * copied. Elsewhere (other execution providers, or `SHAMMAH_ORT_BINDING=node`) they run through
 * onnxruntime-node's binding, which copies every output into fresh JavaScript memory.
 */

import type { Logger } from '@shammah/provider';
import * as ort from 'onnxruntime-node';
import { cApi, cApiUnavailableReason, ELEMENT_TYPES, NativeSession, NativeValue } from './ort-c-api.js';

/** Element types Shammah feeds or reads. */
export type TensorType = 'float32' | 'float16' | 'int64' | 'int32';

type TypedData = Float32Array | Uint16Array | BigInt64Array | Int32Array;

/**
 * A tensor over JavaScript memory (never copied when fed). A `reusable` tensor is bound to the
 * runtime once and fed or fetched as often as needed (a KV cache buffer, the step's logits): it
 * must be disposed when done. Other tensors are bound for one run.
 */
export class RuntimeTensor {
  #native: NativeValue | undefined;

  constructor(
    readonly type: TensorType,
    readonly data: TypedData,
    readonly dims: readonly number[],
    readonly reusable = false,
  ) {}

  /** The runtime's handle on this tensor (C API only). */
  nativeValue(): NativeValue {
    const lib = cApi()!;
    if (this.reusable) {
      this.#native ??= new NativeValue(lib, this.#source());
      return this.#native;
    }
    return new NativeValue(lib, this.#source());
  }

  #source() {
    return { elementType: ELEMENT_TYPES[this.type], data: this.data, dims: this.dims };
  }

  /** Frees the runtime's handle, if any; the memory itself is JavaScript's. */
  dispose(): void {
    this.#native?.release();
    this.#native = undefined;
  }
}

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
  /**
   * How to call the runtime on the CPU: `auto` (default) uses the C API where it loads, else
   * onnxruntime-node's binding; `onnxruntime-node` forces the binding (as does the environment
   * variable `SHAMMAH_ORT_BINDING=node`).
   */
  binding?: 'auto' | 'onnxruntime-node';
  logger?: Logger;
}

/** An open model. */
export interface RuntimeSession {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /** The provider the session actually runs on. */
  readonly executionProvider: ExecutionProvider;
  /** How the session is called: the C API (outputs written in place) or onnxruntime-node's binding. */
  readonly binding: 'c-api' | 'onnxruntime-node';
  /**
   * True when pre-allocated outputs are written in place and not copied back: a graph can then
   * take one buffer as both an input and an output (a shared past/present KV cache).
   */
  readonly writesOutputsInPlace: boolean;
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

/** Wraps a typed array (or a view of one) as a tensor without copying. */
export function createTensor(
  type: TensorType,
  data: TypedData,
  dims: readonly number[],
  reusable = false,
): RuntimeTensor {
  return new RuntimeTensor(type, data, dims, reusable);
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
    if (provider === 'cpu' && options.binding !== 'onnxruntime-node' && cApi()) {
      try {
        const session = openNativeSession(path, options);
        log?.debug({ path, provider, binding: 'c-api' }, 'model session opened');
        return session;
      } catch (error) {
        lastError = error;
        break;
      }
    }
    if (provider === 'cpu') log?.debug({ reason: cApiUnavailableReason() }, 'C API not used');
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
        binding: 'onnxruntime-node',
        writesOutputsInPlace: false,
        run: async (feeds, fetches) => {
          const outputs = await session.run(
            Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, toOrt(tensor)])),
            Object.fromEntries(
              Object.entries(fetches).map(([name, tensor]) => [name, tensor ? toOrt(tensor) : null]),
            ),
          );
          const result: Record<string, RuntimeTensor> = {};
          for (const [name, value] of Object.entries(outputs)) {
            result[name] =
              fetches[name] ??
              new RuntimeTensor(value.type as TensorType, value.data as TypedData, value.dims);
          }
          return result;
        },
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

/** The binding's tensor over the same memory (nothing is copied). */
function toOrt(tensor: RuntimeTensor): ort.Tensor {
  return new ort.Tensor(tensor.type, tensor.data as never, tensor.dims);
}

const TYPED_ARRAYS: Record<string, (bytes: ArrayBuffer) => TypedData> = {
  float32: (bytes) => new Float32Array(bytes),
  float16: (bytes) => new Uint16Array(bytes),
  int64: (bytes) => new BigInt64Array(bytes),
  int32: (bytes) => new Int32Array(bytes),
};

function openNativeSession(path: string, options: RuntimeSessionOptions): RuntimeSession {
  const native = NativeSession.open(cApi()!, path, options);
  return {
    inputs: native.inputs,
    outputs: native.outputs,
    executionProvider: 'cpu',
    binding: 'c-api',
    writesOutputsInPlace: true,
    run: async (feeds, fetches) => {
      const inputNames = Object.keys(feeds);
      const inputTensors = Object.values(feeds);
      const outputNames = Object.keys(fetches);
      const outputTensors = Object.values(fetches);
      const bound: NativeValue[] = [];
      const bind = (tensor: RuntimeTensor) => {
        const value = tensor.nativeValue();
        if (!tensor.reusable) bound.push(value);
        return value.pointer;
      };
      try {
        const copies = native.run(
          inputNames,
          inputTensors.map(bind),
          outputNames,
          outputTensors.map((tensor) => (tensor ? bind(tensor) : null)),
        );
        const result: Record<string, RuntimeTensor> = {};
        outputNames.forEach((name, index) => {
          const copy = copies[index];
          const make = copy && TYPED_ARRAYS[copy.type];
          if (copy && !make)
            throw new Error(`Output ${name} has element type ${copy.type}, which Shammah cannot read.`);
          result[name] = copy
            ? new RuntimeTensor(copy.type as TensorType, make!(copy.bytes), copy.dims)
            : outputTensors[index]!;
        });
        return result;
      } finally {
        for (const value of bound) value.release();
      }
    },
    release: async () => native.release(),
  };
}
