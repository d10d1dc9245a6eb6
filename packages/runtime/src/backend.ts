// The backend contract (STYLE item 5): every inference engine (onnxruntime-node, onnxruntime-web)
// sits behind `InferenceBackend`, and `BackendRegistry` resolves an ordered provider list across
// the registered backends, recording why each skipped provider was skipped. When none works it
// throws one NoUsableProviderError that lists every provider's reason.

import {
  InputDtypeError,
  InputNameError,
  InputShapeError,
  ModelLoadError,
  NoUsableProviderError,
  describeError,
  type ProviderFailure,
} from './errors.js';

/** Execution providers edgeloop knows by name; device profiles list them in preference order. */
export const PROVIDER_NAMES = [
  'tensorrt',
  'cuda',
  'dml',
  'coreml',
  'qnn',
  'openvino',
  'xnnpack',
  'webgpu',
  'cpu',
  'wasm',
] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(value: unknown): value is ProviderName {
  return typeof value === 'string' && (PROVIDER_NAMES as readonly string[]).includes(value);
}

export type TensorDtype =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A dense tensor in row-major order. `data.length` equals the product of `dims`. */
export interface RuntimeTensor {
  dtype: TensorDtype;
  dims: readonly number[];
  data: TypedArray;
}

/** A model input or output. Symbolic dimensions (e.g. 'batch') stay strings. */
export interface TensorInfo {
  name: string;
  /** 'unsupported' for string tensors and non-tensor values (sequences, maps). */
  dtype: TensorDtype | 'unsupported';
  dims: readonly (number | string)[];
}

/** A provider's options as a device profile writes them (e.g. TensorRT `trt_fp16_enable`, CUDA `device_id`). */
export type ProviderOptions = Readonly<Record<string, string | number | boolean>>;

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  /** Preference order; the first provider that initialises is used. */
  providers: readonly ProviderName[];
  /**
   * Per-provider options from the device profile (`executionProviders[].options`), handed to
   * onnxruntime with that provider's entry in the session's executionProviders.
   */
  providerOptions?: Readonly<Partial<Record<ProviderName, ProviderOptions>>>;
  threads?: { intra?: number; inter?: number };
  graphOptimization?: GraphOptimizationLevel;
  /**
   * Whether idle thread-pool threads spin-wait for the next run (onnxruntime's default: true).
   * Spinning lowers latency for back-to-back runs but burns the cores the next frame's JPEG
   * decode needs; a camera loop that alternates decode and inference wants false.
   */
  spinning?: boolean;
}

export interface InferenceSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** The execution provider actually in use. */
  readonly provider: ProviderName;
  /** Providers tried before `provider`, with the reason each was skipped. */
  readonly fallbacks: readonly ProviderFailure[];
  run(feeds: Readonly<Record<string, RuntimeTensor>>): Promise<Record<string, RuntimeTensor>>;
  /** Frees the engine's memory. Idempotent; waits for runs in flight. */
  release(): Promise<void>;
}

export interface InferenceBackend {
  readonly name: string;
  /** Providers this backend can serve by name (whether the installed build has them is found out at session creation). */
  readonly providers: readonly ProviderName[];
  createSession(model: Uint8Array | string, options: SessionOptions): Promise<InferenceSession>;
}

export interface ResolvedProvider<T> {
  value: T;
  provider: ProviderName;
  fallbacks: ProviderFailure[];
}

/**
 * Tries `attempt` for each provider in order and returns the first success with the reasons the
 * earlier ones failed. A ModelLoadError is not a provider problem (every provider would refuse the
 * same bytes), so it propagates at once instead of being recorded.
 */
export async function resolveProviders<T>(
  providers: readonly ProviderName[],
  attempt: (provider: ProviderName) => Promise<T>,
): Promise<ResolvedProvider<T>> {
  const fallbacks: ProviderFailure[] = [];
  for (const provider of providers) {
    try {
      const value = await attempt(provider);
      return { value, provider, fallbacks };
    } catch (error) {
      if (error instanceof ModelLoadError) throw error;
      if (error instanceof NoUsableProviderError) fallbacks.push(...error.failures);
      else fallbacks.push({ provider, reason: describeError(error) });
    }
  }
  throw new NoUsableProviderError(fallbacks);
}

/**
 * Backends by priority of registration. `createSession` walks the requested providers in order
 * and hands each to the first registered backend that serves it, so a profile such as
 * ['tensorrt', 'cuda', 'cpu', 'wasm'] falls from the native build to WASM when it must.
 */
export class BackendRegistry {
  readonly #backends: InferenceBackend[] = [];

  register(backend: InferenceBackend): this {
    if (this.#backends.some((b) => b.name === backend.name)) {
      throw new Error(`backend '${backend.name}' is already registered`);
    }
    this.#backends.push(backend);
    return this;
  }

  get backends(): readonly InferenceBackend[] {
    return this.#backends;
  }

  backendFor(provider: ProviderName): InferenceBackend | undefined {
    return this.#backends.find((b) => b.providers.includes(provider));
  }

  async createSession(model: Uint8Array | string, options: SessionOptions): Promise<InferenceSession> {
    const resolved = await resolveProviders(options.providers, async (provider) => {
      const backend = this.backendFor(provider);
      if (!backend) throw new Error('no registered backend offers it');
      return backend.createSession(model, { ...options, providers: [provider] });
    });
    const session = resolved.value;
    if (resolved.fallbacks.length === 0) return session;
    return withEarlierFallbacks(session, resolved.fallbacks);
  }
}

/** A session found through the registry: the backend's session plus the providers skipped before it. */
function withEarlierFallbacks(session: InferenceSession, earlier: readonly ProviderFailure[]): InferenceSession {
  const fallbacks = [...earlier, ...session.fallbacks];
  return {
    inputs: session.inputs,
    outputs: session.outputs,
    provider: session.provider,
    fallbacks,
    run: (feeds) => session.run(feeds),
    release: () => session.release(),
  };
}

type TypedArrayConstructor = abstract new (...args: never[]) => TypedArray;

// Which typed arrays may carry each dtype (instanceof, so a Node Buffer counts as a Uint8Array).
const ARRAY_TYPES: Record<TensorDtype, readonly TypedArrayConstructor[]> = {
  float32: [Float32Array],
  float16: [Uint16Array],
  float64: [Float64Array],
  int8: [Int8Array],
  uint8: [Uint8Array, Uint8ClampedArray],
  int16: [Int16Array],
  uint16: [Uint16Array],
  int32: [Int32Array],
  uint32: [Uint32Array],
  int64: [BigInt64Array],
  uint64: [BigUint64Array],
  bool: [Uint8Array],
};

export function isTensorDtype(value: unknown): value is TensorDtype {
  return typeof value === 'string' && Object.hasOwn(ARRAY_TYPES, value);
}

/** Allocates a zero-filled typed array of the right kind for `dtype`. */
export function allocateTensorData(dtype: TensorDtype, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint16':
    case 'float16':
      return new Uint16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'uint64':
      return new BigUint64Array(length);
  }
}

export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const d of dims) count *= d;
  return count;
}

/** Same rank and the same size on every axis. */
export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks feeds against the model's inputs before the engine sees them, so a caller's mistake
 * becomes a named error instead of an engine message (or a native crash).
 */
export function validateFeeds(inputs: readonly TensorInfo[], feeds: Readonly<Record<string, RuntimeTensor>>): void {
  const names = new Set(inputs.map((i) => i.name));
  for (const name of Object.keys(feeds)) {
    if (!names.has(name)) {
      throw new InputNameError(`unknown input '${name}' (model inputs: ${[...names].join(', ')})`);
    }
  }
  for (const info of inputs) {
    const feed = feeds[info.name];
    if (feed === undefined) throw new InputNameError(`missing input '${info.name}'`);
    if (info.dtype === 'unsupported') {
      throw new InputDtypeError(info.name, 'a non-numeric type this runtime cannot feed', feed.dtype);
    }
    if (feed.dtype !== info.dtype) throw new InputDtypeError(info.name, info.dtype, String(feed.dtype));
    const allowed = ARRAY_TYPES[info.dtype];
    if (!allowed.some((type) => feed.data instanceof type)) {
      const actualType = (feed.data as object | undefined)?.constructor?.name ?? typeof feed.data;
      const expectedTypes = allowed.map((type) => type.name).join(' or ');
      throw new InputDtypeError(info.name, `${info.dtype} (${expectedTypes})`, `${feed.dtype} with ${actualType} data`);
    }
    const dims = feed.dims;
    if (dims.length !== info.dims.length) {
      throw new InputShapeError(info.name, info.dims, dims, `rank ${dims.length}, expected ${info.dims.length}`);
    }
    for (let axis = 0; axis < dims.length; axis++) {
      const actual = dims[axis];
      const expected = info.dims[axis];
      if (!Number.isInteger(actual) || actual < 0) {
        throw new InputShapeError(info.name, info.dims, dims, `axis ${axis} is not a non-negative integer`);
      }
      if (typeof expected === 'number' && expected >= 0 && actual !== expected) {
        throw new InputShapeError(info.name, info.dims, dims, `axis ${axis} is ${actual}, expected ${expected}`);
      }
    }
    const count = elementCount(dims);
    if (feed.data.length !== count) {
      throw new InputShapeError(info.name, info.dims, dims, `data has ${feed.data.length} elements, shape needs ${count}`);
    }
  }
}

export interface WarmUpResult {
  runs: number;
  /** The first run pays for lazy allocation and kernel selection. */
  firstMs: number;
  /** Mean of the runs after the first (equals firstMs when runs is 1). */
  meanMs: number;
}

/**
 * Runs the session a few times on zero-filled inputs (symbolic dims set to 1) or on given feeds,
 * so the first camera frame does not pay for allocation and kernel selection.
 */
export async function warmUp(
  session: InferenceSession,
  options: { runs?: number; feeds?: Readonly<Record<string, RuntimeTensor>> } = {},
): Promise<WarmUpResult> {
  const runs = Math.max(1, Math.floor(options.runs ?? 3));
  const feeds = options.feeds ?? zeroFeeds(session.inputs);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  const rest = times.slice(1);
  const meanMs = rest.length === 0 ? times[0] : rest.reduce((a, b) => a + b, 0) / rest.length;
  return { runs, firstMs: times[0], meanMs };
}

/** Zero-filled feeds for every input; symbolic dimensions become 1. */
export function zeroFeeds(inputs: readonly TensorInfo[]): Record<string, RuntimeTensor> {
  const feeds: Record<string, RuntimeTensor> = {};
  for (const info of inputs) {
    if (info.dtype === 'unsupported') throw new InputDtypeError(info.name, 'a numeric tensor', 'a non-numeric type');
    const dims = info.dims.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    feeds[info.name] = { dtype: info.dtype, dims, data: allocateTensorData(info.dtype, elementCount(dims)) };
  }
  return feeds;
}
