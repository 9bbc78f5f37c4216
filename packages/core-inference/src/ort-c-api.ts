/**
 * ONNX Runtime's C API, called directly through koffi (a foreign-function interface with prebuilt
 * binaries), on the very library onnxruntime-node ships and loads.
 *
 * Why: onnxruntime-node's binding copies every output of a run into a fresh JavaScript buffer, even
 * outputs the caller passed in pre-allocated. For a decoder that output is the whole KV cache
 * (~23 MB a step for a 135M model at 500 tokens), which made a decode step twice as long as the
 * graph itself. Through the C API, outputs are written in place and nothing is copied, and a
 * GroupQueryAttention graph can take the same buffer as its past input and present output
 * (onnxruntime's `past_present_share_buffer` mode), so the cache is never copied at all.
 *
 * Only the CPU provider is opened here; other providers go through onnxruntime-node. This module
 * and `onnx-runtime.ts` are the only ones that touch the runtime.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import koffi from 'koffi';

/** Element types of tensors, as the C API numbers them (ONNXTensorElementDataType). */
export const ELEMENT_TYPES = { float32: 1, int32: 6, int64: 7, float16: 10 } as const;

const ELEMENT_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

/** An opaque C pointer as koffi hands it over. */
type Pointer = unknown;
type Native = (...args: unknown[]) => unknown;

// Positions of the functions in the OrtApi table. The table only ever grows at its end, so these
// hold for every runtime version that answers GetApi(API_VERSION).
const API_VERSION = 17;
const SIGNATURES = {
  GetErrorMessage: [2, 'const char *F(void *status)'],
  CreateEnv: [3, 'void *F(int level, const char *id, _Out_ void **env)'],
  CreateSession: [7, 'void *F(void *env, PATH path, void *options, _Out_ void **session)'],
  Run: [
    9,
    'void *F(void *session, void *runOptions, const char **inNames, void **inputs, size_t inCount, const char **outNames, size_t outCount, _Inout_ void **outputs)',
  ],
  CreateSessionOptions: [10, 'void *F(_Out_ void **options)'],
  SetSessionGraphOptimizationLevel: [23, 'void *F(void *options, int level)'],
  SetIntraOpNumThreads: [24, 'void *F(void *options, int threads)'],
  SetInterOpNumThreads: [25, 'void *F(void *options, int threads)'],
  SessionGetInputCount: [30, 'void *F(void *session, _Out_ size_t *count)'],
  SessionGetOutputCount: [31, 'void *F(void *session, _Out_ size_t *count)'],
  SessionGetInputTypeInfo: [33, 'void *F(void *session, size_t index, _Out_ void **info)'],
  SessionGetOutputTypeInfo: [34, 'void *F(void *session, size_t index, _Out_ void **info)'],
  SessionGetInputName: [36, 'void *F(void *session, size_t index, void *allocator, _Out_ void **name)'],
  SessionGetOutputName: [37, 'void *F(void *session, size_t index, void *allocator, _Out_ void **name)'],
  CreateTensorWithDataAsOrtValue: [
    49,
    'void *F(void *memory, void *data, size_t bytes, int64_t *shape, size_t rank, int type, _Out_ void **value)',
  ],
  GetTensorMutableData: [51, 'void *F(void *value, _Out_ void **data)'],
  CastTypeInfoToTensorInfo: [55, 'void *F(void *info, _Out_ void **tensorInfo)'],
  GetOnnxTypeFromTypeInfo: [56, 'void *F(void *info, _Out_ int *type)'],
  GetTensorElementType: [60, 'void *F(void *tensorInfo, _Out_ int *type)'],
  GetDimensionsCount: [61, 'void *F(void *tensorInfo, _Out_ size_t *count)'],
  GetDimensions: [62, 'void *F(void *tensorInfo, _Out_ int64_t *dims, size_t count)'],
  GetTensorTypeAndShape: [65, 'void *F(void *value, _Out_ void **tensorInfo)'],
  CreateCpuMemoryInfo: [69, 'void *F(int allocator, int memoryType, _Out_ void **info)'],
  AllocatorFree: [76, 'void *F(void *allocator, void *pointer)'],
  GetAllocatorWithDefaultOptions: [78, 'void *F(_Out_ void **allocator)'],
  ReleaseStatus: [93, 'void F(void *status)'],
  ReleaseMemoryInfo: [94, 'void F(void *info)'],
  ReleaseSession: [95, 'void F(void *session)'],
  ReleaseValue: [96, 'void F(void *value)'],
  ReleaseTypeInfo: [98, 'void F(void *info)'],
  ReleaseTensorTypeAndShapeInfo: [99, 'void F(void *info)'],
  ReleaseSessionOptions: [100, 'void F(void *options)'],
  AddSessionConfigEntry: [130, 'void *F(void *options, const char *key, const char *value)'],
} as const;

type Api = { -readonly [Name in keyof typeof SIGNATURES]: Native };

interface Library {
  api: Api;
  env: Pointer;
  cpuMemory: Pointer;
  allocator: Pointer;
  version: string;
}

let library: Library | null | undefined;
let unavailableReason = '';

function libraryPath(): string | undefined {
  // Another build of the same runtime (a newer release, a GPU build), for those who need one.
  const override = process.env.SHAMMAH_ORT_LIBRARY;
  if (override) return existsSync(override) ? override : undefined;
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
  const file =
    process.platform === 'win32'
      ? 'onnxruntime.dll'
      : process.platform === 'darwin'
        ? 'libonnxruntime.1.dylib'
        : 'libonnxruntime.so.1';
  const path = join(root, 'bin', 'napi-v6', process.platform, process.arch, file);
  return existsSync(path) ? path : undefined;
}

function load(): Library | null {
  if (process.env.SHAMMAH_ORT_BINDING === 'node') {
    unavailableReason = 'SHAMMAH_ORT_BINDING=node';
    return null;
  }
  const path = libraryPath();
  if (!path) {
    unavailableReason = "onnxruntime-node's runtime library was not found for this platform";
    return null;
  }
  const lib = koffi.load(path);
  const getApiBase = lib.func('void *OrtGetApiBase()') as () => Pointer;
  const base = koffi.decode(getApiBase(), koffi.array('void *', 2)) as Pointer[];
  const getApi = koffi.decode(base[0], koffi.proto('void *GetApi(uint32_t)')) as Native;
  const getVersion = koffi.decode(base[1], koffi.proto('const char *GetVersionString()')) as Native;
  const version = getVersion() as string;
  const table = getApi(API_VERSION);
  if (!table) {
    unavailableReason = `onnxruntime ${version} does not offer C API version ${API_VERSION}`;
    return null;
  }
  const entries = koffi.decode(table, koffi.array('void *', 140)) as Pointer[];
  const pathType = process.platform === 'win32' ? 'const char16_t *' : 'const char *';
  const api = {} as Api;
  for (const [name, [index, signature]] of Object.entries(SIGNATURES)) {
    const proto = koffi.proto(signature.replace('F(', `${name}(`).replace('PATH', pathType));
    api[name as keyof Api] = koffi.decode(entries[index], proto) as Native;
  }
  const out: Pointer[] = [null];
  check(api, api.CreateEnv(3, 'shammah', out));
  const env = out[0];
  check(api, api.CreateCpuMemoryInfo(1, 0, out));
  const cpuMemory = out[0];
  check(api, api.GetAllocatorWithDefaultOptions(out));
  return { api, env, cpuMemory, allocator: out[0], version };
}

function check(api: Api, status: unknown): void {
  if (!status) return;
  const message = api.GetErrorMessage(status) as string;
  api.ReleaseStatus(status);
  throw new Error(message);
}

/** The C API, or null where it cannot be used (then onnxruntime-node's binding is used instead). */
export function cApi(): Library | null {
  if (library === undefined) {
    try {
      library = load();
    } catch (error) {
      unavailableReason = error instanceof Error ? error.message : String(error);
      library = null;
    }
  }
  return library;
}

/** Why `cApi()` returned null. */
export function cApiUnavailableReason(): string {
  return unavailableReason;
}

/** Name, element type and shape (numbers, or `?` where a dimension is symbolic) of a graph input or output. */
export interface NativeValueInfo {
  name: string;
  type: string;
  shape: Array<number | string>;
}

/** A tensor over caller-owned memory, created once and fed as often as needed. */
export interface NativeTensorSource {
  readonly elementType: number;
  readonly data: ArrayBufferView;
  readonly dims: readonly number[];
}

/** An OrtValue wrapping caller-owned memory (nothing is copied). Release it when done. */
export class NativeValue {
  #pointer: Pointer;

  constructor(
    readonly lib: Library,
    source: NativeTensorSource,
  ) {
    const out: Pointer[] = [null];
    const shape = BigInt64Array.from(source.dims, (dim) => BigInt(dim));
    check(
      lib.api,
      lib.api.CreateTensorWithDataAsOrtValue(
        lib.cpuMemory,
        source.data,
        source.data.byteLength,
        shape,
        shape.length,
        source.elementType,
        out,
      ),
    );
    this.#pointer = out[0];
  }

  get pointer(): Pointer {
    if (!this.#pointer) throw new Error('This tensor was released.');
    return this.#pointer;
  }

  release(): void {
    if (this.#pointer) this.lib.api.ReleaseValue(this.#pointer);
    this.#pointer = null;
  }
}

/** An output the runtime allocated, copied into JavaScript memory and freed. */
export interface NativeOutput {
  type: string;
  dims: number[];
  bytes: ArrayBuffer;
}

function readValueInfo(lib: Library, info: Pointer, name: string): NativeValueInfo {
  const { api } = lib;
  const kind: number[] = [0];
  check(api, api.GetOnnxTypeFromTypeInfo(info, kind));
  if (kind[0] !== 1) return { name, type: 'non-tensor', shape: [] };
  const tensorInfo: Pointer[] = [null];
  check(api, api.CastTypeInfoToTensorInfo(info, tensorInfo));
  const { type, shape } = tensorShape(lib, tensorInfo[0]);
  return { name, type, shape: shape.map((dim) => (dim < 0 ? '?' : dim)) };
}

function tensorShape(lib: Library, tensorInfo: Pointer): { type: string; shape: number[] } {
  const { api } = lib;
  const element: number[] = [0];
  check(api, api.GetTensorElementType(tensorInfo, element));
  const count: number[] = [0];
  check(api, api.GetDimensionsCount(tensorInfo, count));
  const dims = new BigInt64Array(count[0]!);
  if (count[0]) check(api, api.GetDimensions(tensorInfo, dims, count[0]));
  return {
    type: ELEMENT_NAMES[element[0]!] ?? `element type ${element[0]}`,
    shape: Array.from(dims, (dim) => Number(dim)),
  };
}

/** An open model on the CPU through the C API. `run` holds the calling thread until it is done. */
export class NativeSession {
  readonly inputs: NativeValueInfo[];
  readonly outputs: NativeValueInfo[];
  #session: Pointer;

  private constructor(
    readonly lib: Library,
    session: Pointer,
  ) {
    this.#session = session;
    this.inputs = this.#describe('Input');
    this.outputs = this.#describe('Output');
  }

  /** Opens `path` on the CPU with all graph optimizations. */
  static open(lib: Library, path: string, options: { intraOpThreads?: number }): NativeSession {
    const { api } = lib;
    const out: Pointer[] = [null];
    check(api, api.CreateSessionOptions(out));
    const sessionOptions = out[0];
    try {
      check(api, api.SetSessionGraphOptimizationLevel(sessionOptions, 99));
      check(api, api.SetInterOpNumThreads(sessionOptions, 1));
      if (options.intraOpThreads)
        check(api, api.SetIntraOpNumThreads(sessionOptions, options.intraOpThreads));
      check(api, api.CreateSession(lib.env, path, sessionOptions, out));
      return new NativeSession(lib, out[0]);
    } finally {
      api.ReleaseSessionOptions(sessionOptions);
    }
  }

  #describe(kind: 'Input' | 'Output'): NativeValueInfo[] {
    const { api, allocator } = this.lib;
    const count: number[] = [0];
    check(api, api[`SessionGet${kind}Count`](this.#session, count));
    const found: NativeValueInfo[] = [];
    for (let index = 0; index < count[0]!; index++) {
      const namePointer: Pointer[] = [null];
      check(api, api[`SessionGet${kind}Name`](this.#session, index, allocator, namePointer));
      const name = koffi.decode(namePointer[0], 'char', -1) as string;
      check(api, api.AllocatorFree(allocator, namePointer[0]));
      const info: Pointer[] = [null];
      check(api, api[`SessionGet${kind}TypeInfo`](this.#session, index, info));
      try {
        found.push(readValueInfo(this.lib, info[0], name));
      } finally {
        api.ReleaseTypeInfo(info[0]);
      }
    }
    return found;
  }

  /**
   * Runs the graph. Outputs given a value are written into its memory; outputs given null are
   * allocated by the runtime and returned as copies.
   */
  run(
    inputNames: string[],
    inputs: Pointer[],
    outputNames: string[],
    outputs: Array<Pointer | null>,
  ): Array<NativeOutput | null> {
    const { api } = this.lib;
    const values = [...outputs];
    check(
      api,
      api.Run(
        this.#session,
        null,
        inputNames,
        inputs,
        inputs.length,
        outputNames,
        outputNames.length,
        values,
      ),
    );
    return values.map((value, index) => {
      if (outputs[index]) return null;
      try {
        return this.#copyOut(value);
      } finally {
        api.ReleaseValue(value);
      }
    });
  }

  #copyOut(value: Pointer): NativeOutput {
    const { api } = this.lib;
    const info: Pointer[] = [null];
    check(api, api.GetTensorTypeAndShape(value, info));
    let described: { type: string; shape: number[] };
    try {
      described = tensorShape(this.lib, info[0]);
    } finally {
      api.ReleaseTensorTypeAndShapeInfo(info[0]);
    }
    const data: Pointer[] = [null];
    check(api, api.GetTensorMutableData(value, data));
    const width =
      described.type === 'float16' ? 2 : described.type === 'float64' || described.type === 'int64' ? 8 : 4;
    const bytes = described.shape.reduce((product, dim) => product * dim, 1) * width;
    const view = koffi.view(data[0], bytes) as ArrayBuffer;
    return { type: described.type, dims: described.shape, bytes: view.slice(0) };
  }

  release(): void {
    if (this.#session) this.lib.api.ReleaseSession(this.#session);
    this.#session = null;
  }
}
