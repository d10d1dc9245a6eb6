// The InferenceSession implementation shared by the onnxruntime-node and onnxruntime-web
// backends: both packages expose the same onnxruntime-common API, so only module loading and
// session options differ between them.

import type * as Ort from 'onnxruntime-node';

import {
  isTensorDtype,
  sameDims,
  validateFeeds,
  type InferenceSession,
  type ProviderName,
  type ProviderOptions,
  type RuntimeTensor,
  type TensorInfo,
  type TypedArray,
} from '../backend.js';
import {
  InferenceError,
  ModelLoadError,
  SessionReleasedError,
  describeError,
  type ProviderFailure,
} from '../errors.js';

/** The part of an onnxruntime module (node or web) the runtime uses. */
export interface OrtModule {
  Tensor: typeof Ort.Tensor;
  InferenceSession: typeof Ort.InferenceSession;
}

export type OrtSession = Ort.InferenceSession;
export type OrtSessionOptions = Ort.InferenceSession.SessionOptions;

// Engine messages that mean the bytes are not a loadable model, whatever the provider.
const MODEL_FORMAT_FAILURES = [
  /protobuf parsing failed/i,
  /model data pointer is null/i,
  /no graph was found/i,
  /unsupported model ir version/i,
  /opset \d+ is (?:under development|not supported)/i,
  /load model from .* failed/i,
  /no such file or directory/i,
  /invalid model/i,
];

export function isModelFormatFailure(error: unknown): boolean {
  const message = describeError(error);
  return MODEL_FORMAT_FAILURES.some((pattern) => pattern.test(message));
}

/** Rethrows a session-creation failure as ModelLoadError when it is about the model itself. */
export function classifyCreateError(error: unknown): unknown {
  if (isModelFormatFailure(error)) return new ModelLoadError(describeError(error), { cause: error });
  return error;
}

export type OrtExecutionProviderConfig = NonNullable<OrtSessionOptions['executionProviders']>[number];

/**
 * One entry of onnxruntime's `executionProviders`: the bare name, or `{ name, ...options }` when
 * the device profile gives the provider options. The options go through as written; the
 * onnxruntime JS bindings read a provider's device as `deviceId`, so a profile's `device_id`
 * (the C API spelling) is also given as `deviceId` unless the profile sets both.
 */
export function executionProviderConfig(provider: ProviderName, options: ProviderOptions | undefined): OrtExecutionProviderConfig {
  if (options === undefined || Object.keys(options).length === 0) return provider;
  const config: Record<string, string | number | boolean> = { ...options };
  if (config.deviceId === undefined && typeof config.device_id === 'number') config.deviceId = config.device_id;
  return { ...config, name: provider };
}

function toTensorInfo(metadata: Ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!metadata.isTensor || !isTensorDtype(metadata.type)) {
    return { name: metadata.name, dtype: 'unsupported', dims: metadata.isTensor ? [...metadata.shape] : [] };
  }
  return { name: metadata.name, dtype: metadata.type, dims: [...metadata.shape] };
}

interface CachedTensor {
  dtype: string;
  dims: readonly number[];
  tensor: Ort.Tensor;
}

/** onnxruntime-common's per-session backend handler: the object `InferenceSession.run` hands validated feeds to. */
interface OrtSessionHandler {
  run(
    feeds: Record<string, Ort.Tensor>,
    fetches: Record<string, null>,
    options: Ort.InferenceSession.RunOptions,
  ): Promise<Record<string, Pick<Ort.Tensor, 'type' | 'dims' | 'data'>>>;
}

const RUN_OPTIONS: Ort.InferenceSession.RunOptions = {};

export class OrtSessionAdapter implements InferenceSession {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly provider: ProviderName;
  readonly fallbacks: readonly ProviderFailure[];

  readonly #ort: OrtModule;
  readonly #session: OrtSession;
  // onnxruntime-common's InferenceSession.run checks the feeds, fetches and options again on
  // every call, then passes them to its backend handler. The feeds this adapter passes were
  // checked once (see #ortFeeds) and the fetches are all outputs, so when the session exposes
  // that handler (onnxruntime-common 1.x, node and web) runs go to it directly; otherwise
  // through `session.run`. Both give the same outputs (tested on both backends).
  readonly #handler: OrtSessionHandler | undefined;
  readonly #fetches: Record<string, null>;
  // Wrappers over the caller's typed arrays: a camera loop that refills one Float32Array per frame
  // reuses one ort.Tensor, and neither the wrapper nor the data is copied on the way in.
  readonly #tensorCache = new WeakMap<object, CachedTensor>();
  readonly #feedsCache = new WeakMap<object, { ortFeeds: Record<string, Ort.Tensor>; matches: (feeds: Readonly<Record<string, RuntimeTensor>>) => boolean }>();
  readonly #outputNames: readonly string[];
  #running = 0;
  #drained: (() => void) | undefined;
  #released = false;
  #releasing: Promise<void> | undefined;

  constructor(ort: OrtModule, session: OrtSession, provider: ProviderName, fallbacks: readonly ProviderFailure[], options: { direct?: boolean } = {}) {
    this.#ort = ort;
    this.#session = session;
    this.provider = provider;
    this.fallbacks = fallbacks;
    this.inputs = session.inputMetadata.map(toTensorInfo);
    this.outputs = session.outputMetadata.map(toTensorInfo);
    this.#outputNames = session.outputNames;
    this.#fetches = Object.fromEntries(session.outputNames.map((name) => [name, null]));
    const handler = (session as unknown as { handler?: Partial<OrtSessionHandler> }).handler;
    this.#handler = options.direct !== false && typeof handler?.run === 'function' ? (handler as OrtSessionHandler) : undefined;
  }

  /** Whether runs go straight to onnxruntime-common's session handler (see #handler). */
  get direct(): boolean {
    return this.#handler !== undefined;
  }

  run(feeds: Readonly<Record<string, RuntimeTensor>>): Promise<Record<string, RuntimeTensor>> {
    if (this.#released) return Promise.reject(new SessionReleasedError());
    let pending: Promise<Record<string, Pick<Ort.Tensor, 'type' | 'dims' | 'data'>>>;
    try {
      const ortFeeds = this.#ortFeeds(feeds);
      pending = this.#handler ? this.#handler.run(ortFeeds, this.#fetches, RUN_OPTIONS) : this.#session.run(ortFeeds);
    } catch (error) {
      // Invalid feeds: the validation's own error (InputNameError, InputShapeError, ...).
      return Promise.reject(error as Error);
    }
    this.#running++;
    return pending.then(this.#collect, this.#fail);
  }

  readonly #collect = (results: Record<string, Pick<Ort.Tensor, 'type' | 'dims' | 'data'>>): Record<string, RuntimeTensor> => {
    this.#finished();
    const outputs: Record<string, RuntimeTensor> = {};
    for (const name of this.#outputNames) {
      const tensor = results[name];
      if (tensor === undefined) continue;
      if (!isTensorDtype(tensor.type)) {
        throw new InferenceError(`output '${name}' has type ${tensor.type}, which this runtime does not read`);
      }
      outputs[name] = { dtype: tensor.type, dims: tensor.dims, data: tensor.data as TypedArray };
    }
    return outputs;
  };

  readonly #fail = (error: unknown): never => {
    this.#finished();
    throw new InferenceError(describeError(error), { cause: error });
  };

  #finished(): void {
    if (--this.#running === 0) this.#drained?.();
  }

  // The onnxruntime feeds for `feeds`. A feeds object seen before with the same tensor objects,
  // unchanged (the engine passes one per reused input buffer), was validated and wrapped then:
  // its ort.Tensor wrappers are reused as they are, so a camera loop pays for neither again.
  #ortFeeds(feeds: Readonly<Record<string, RuntimeTensor>>): Record<string, Ort.Tensor> {
    const cached = this.#feedsCache.get(feeds);
    if (cached && cached.matches(feeds)) return cached.ortFeeds;
    validateFeeds(this.inputs, feeds);
    const ortFeeds: Record<string, Ort.Tensor> = {};
    const seen: { tensor: RuntimeTensor; dtype: string; dims: readonly number[]; data: object }[] = [];
    for (const info of this.inputs) {
      const feed = feeds[info.name];
      ortFeeds[info.name] = this.#wrap(feed);
      seen.push({ tensor: feed, dtype: feed.dtype, dims: [...feed.dims], data: feed.data });
    }
    const names = this.inputs.map((i) => i.name);
    this.#feedsCache.set(feeds, {
      ortFeeds,
      matches: (again) => {
        for (let i = 0; i < names.length; i++) {
          const t = again[names[i]];
          const s = seen[i];
          // Same tensor object, still with the same dtype, data and dims (compared by value, so
          // editing the tensor in place is caught and validated again).
          if (t !== s.tensor || t.dtype !== s.dtype || t.data !== s.data || !sameDims(t.dims, s.dims)) return false;
        }
        return true;
      },
    });
    return ortFeeds;
  }

  release(): Promise<void> {
    if (!this.#releasing) {
      this.#released = true;
      this.#releasing = (async () => {
        if (this.#running > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
        await this.#session.release();
      })();
    }
    return this.#releasing;
  }

  #wrap(feed: RuntimeTensor): Ort.Tensor {
    const cached = this.#tensorCache.get(feed.data);
    if (cached && cached.dtype === feed.dtype && sameDims(cached.dims, feed.dims)) return cached.tensor;
    const tensor = new this.#ort.Tensor(feed.dtype, feed.data as Ort.Tensor.DataType, feed.dims);
    this.#tensorCache.set(feed.data, { dtype: feed.dtype, dims: [...feed.dims], tensor });
    return tensor;
  }
}
