// One verified bundle, one inference session: the unit the runner calls per frame and the hot swap
// replaces. Opening is the whole admission procedure: verify the signature against the trust
// store, create the session on the device profile's providers in order (fallbacks recorded),
// warm it up, then run the golden health check and refuse the bundle if it disagrees.

import { loadDeviceProfile, openBundle, type DeviceProfile, type Manifest, type ModelInput, type OpenedBundle, type Trust } from '@edgeloop/bundle';

import {
  BackendRegistry,
  isProviderName,
  sameDims,
  warmUp,
  type InferenceBackend,
  type InferenceSession,
  type ProviderName,
  type ProviderOptions,
  type RuntimeTensor,
  type WarmUpResult,
} from './backend.js';
import { createNodeBackend } from './backends/node.js';
import { createWebBackend } from './backends/web.js';
import { BackendLoadError, EngineClosedError, InputShapeError, UnsupportedModelError, describeError, type ProviderFailure } from './errors.js';
import { runGoldenHealthCheck, type HealthReport } from './golden.js';
import { planPostprocess, predict, type PostprocessPlan, type Prediction } from './prediction.js';
import { Preprocessor, type ImageInput, type ImageTransform, type PreprocessorOptions } from './preprocess.js';

export interface EngineOptions {
  /** A bundle file (opened and verified here with `trust`) or a bundle already opened. */
  bundle: string | OpenedBundle;
  /** Required when `bundle` is a path: the keys the device accepts signatures from. */
  trust?: Trust;
  /** Device profile (object, name in devices/, or path): providers in order and thread counts. */
  profile?: DeviceProfile | string;
  profilesDir?: string;
  /** Overrides the profile's provider order (default: the profile's, else ['cpu']). */
  providers?: readonly ProviderName[];
  /** Overrides the profile's threads. */
  threads?: { intra?: number; inter?: number };
  /** Default: onnxruntime-node, plus onnxruntime-web when 'wasm' is among the providers. */
  backend?: InferenceBackend | BackendRegistry;
  /**
   * Let idle onnxruntime threads spin between runs (default false): the loop alternates JPEG decode
   * and inference, and spinning threads steal the decode's cores (measured: 18 ms vs 3-4.5 ms per
   * frame for the digits model on 2 shared cores; see bench/runtime-throughput.ts).
   */
  spinning?: boolean;
  /** Warm-up runs on zero inputs before the first frame (default 3; 0 skips). */
  warmUpRuns?: number;
  /** Run the golden pairs and refuse on disagreement (default true). */
  healthCheck?: boolean;
  /** Refuse a bundle with no golden pairs (default false: it opens, with `health.samples` 0). */
  requireGolden?: boolean;
  topK?: number;
  kernel?: PreprocessorOptions['kernel'];
}

export interface InferLatency {
  preprocess: number;
  /** Waiting for the session while the frame accepted before this one ran (0 when called one at a time). */
  queued: number;
  inference: number;
  postprocess: number;
  total: number;
}

export interface InferResult {
  prediction: Prediction;
  /** Every model output, as onnxruntime returned it. */
  outputs: Record<string, RuntimeTensor>;
  latencyMs: InferLatency;
  /** Source pixels -> model pixels. */
  transform: ImageTransform;
  model: { name: string; version: number };
  provider: ProviderName;
}

export interface InferOptions {
  /**
   * Sees the preprocessed input tensor while it is still valid (its buffer is reused for later
   * frames once infer returns), e.g. for drift statistics.
   */
  onInput?: (tensor: RuntimeTensor) => void;
}

/** Anything that turns a frame into a result: an Engine, or a HotSwapEngine in front of several. */
export interface FrameInferer {
  infer(frame: ImageInput, options?: InferOptions): Promise<InferResult>;
  readonly manifest: Manifest;
  readonly provider: ProviderName;
}

const MAX_POOLED_BUFFERS = 4;

/** A reusable input buffer with the tensor and feeds objects that point at it. */
interface InputSlot {
  buffer: Float32Array | Uint8Array;
  tensor: RuntimeTensor;
  feeds: Record<string, RuntimeTensor>;
}

export class Engine implements FrameInferer {
  readonly bundle: OpenedBundle;
  readonly manifest: Manifest;
  readonly session: InferenceSession;
  readonly preprocessor: Preprocessor;
  readonly imageInput: ModelInput;
  readonly health: HealthReport;
  readonly warmUp: WarmUpResult | undefined;
  readonly #plan: PostprocessPlan;
  // Input buffers reused frame after frame: the Preprocessor writes into one, the session's tensor
  // wrapper is cached per buffer, so the steady state allocates nothing on the way in. A pool (not
  // one buffer) so overlapping infer calls never share a buffer.
  readonly #free: InputSlot[] = [];
  readonly #model: { name: string; version: number };
  // Feeds objects for caller-made tensors (inferTensor), one per tensor object, so the session
  // adapter recognises them and skips re-validating and re-wrapping.
  readonly #tensorFeeds = new WeakMap<RuntimeTensor, Record<string, RuntimeTensor>>();
  // Session turns: tickets are handed out as frames are accepted; `#serving` is the one allowed
  // into session.run next. Waiters park in `#turns`; tickets that failed before their turn
  // (decode errors) sit in `#gaveUp` until the queue reaches them.
  #nextTicket = 0;
  #serving = 0;
  readonly #turns = new Map<number, () => void>();
  readonly #gaveUp = new Set<number>();
  #accepted = 0;
  #idle: (() => void) | undefined;
  #closed = false;
  #releasing: Promise<void> | undefined;

  private constructor(
    bundle: OpenedBundle,
    session: InferenceSession,
    preprocessor: Preprocessor,
    imageInput: ModelInput,
    plan: PostprocessPlan,
    health: HealthReport,
    warm: WarmUpResult | undefined,
  ) {
    this.bundle = bundle;
    this.manifest = bundle.manifest;
    this.session = session;
    this.preprocessor = preprocessor;
    this.imageInput = imageInput;
    this.#plan = plan;
    this.health = health;
    this.warmUp = warm;
    this.#model = Object.freeze({ name: this.manifest.name, version: this.manifest.version });
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const bundle = typeof options.bundle === 'string' ? await openBundleWithTrust(options.bundle, options.trust) : options.bundle;
    const manifest = bundle.manifest;
    const { imageInput, preprocessor } = imageInputOf(manifest, options.kernel);
    const plan = planPostprocess(manifest, options.topK === undefined ? {} : { topK: options.topK });
    const profile = typeof options.profile === 'string'
      ? await loadDeviceProfile(options.profile, options.profilesDir ? { profilesDir: options.profilesDir } : {})
      : options.profile;
    const providers = options.providers ?? providersOf(profile);
    const threads = options.threads ?? profile?.threads;
    const backend = options.backend ?? (await defaultBackend(providers));
    const model = await bundle.readMember(manifest.model.path);
    const providerOptions = providerOptionsOf(profile);
    const session = await backend.createSession(model, {
      providers,
      spinning: options.spinning ?? false,
      ...(threads ? { threads } : {}),
      ...(providerOptions ? { providerOptions } : {}),
    });
    try {
      if (options.requireGolden === true && manifest.golden.length === 0) {
        throw new UnsupportedModelError(`bundle ${manifest.name} v${manifest.version} carries no golden pairs and requireGolden is set`);
      }
      const runs = options.warmUpRuns ?? 3;
      const warm = runs > 0 ? await warmUp(session, { runs }) : undefined;
      const health = options.healthCheck === false ? { samples: 0, checks: [], durationMs: 0 } : await runGoldenHealthCheck(session, bundle);
      return new Engine(bundle, session, preprocessor, imageInput, plan, health, warm);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  get provider(): ProviderName {
    return this.session.provider;
  }

  get fallbacks(): readonly ProviderFailure[] {
    return this.session.fallbacks;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Frames accepted and not yet finished. */
  get inFlight(): number {
    return this.#accepted;
  }

  /**
   * Frame (encoded bytes or raw pixels) -> prediction, with per-stage latency. Calls may overlap:
   * each frame is preprocessed as soon as it arrives (sharp decodes on libuv threads), while
   * session runs happen one at a time in the order the frames were accepted. So a caller that
   * keeps two frames in flight decodes frame N+1 while frame N is in onnxruntime, and results
   * still resolve in order.
   */
  infer(frame: ImageInput, options?: InferOptions): Promise<InferResult> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const ticket = this.#nextTicket++;
    this.#accepted++;
    return this.#infer(frame, undefined, options, ticket);
  }

  /**
   * A model input the caller made (its own preprocessing, e.g. on a GPU, or a tensor kept from an
   * earlier frame) -> prediction: the same path as `infer` without the preprocessor. The tensor
   * must have the input's dtype and the preprocessed dims (`preprocessor.dims`); detections come
   * back in model pixels (identity transform). Passing the same tensor object again reuses its
   * onnxruntime wrapper, so refilling one buffer per frame allocates nothing on the way in.
   */
  inferTensor(tensor: RuntimeTensor, options?: InferOptions): Promise<InferResult> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const name = this.imageInput.name;
    // The session checks dtype and data length against the model like any feeds; the dims must be
    // the preprocessed ones too (a model with a free batch axis would take a batch the
    // postprocessing does not read).
    if (!sameDims(tensor.dims, this.preprocessor.dims)) return Promise.reject(new InputShapeError(name, this.preprocessor.dims, tensor.dims));
    let feeds = this.#tensorFeeds.get(tensor);
    if (feeds === undefined) {
      feeds = { [name]: tensor };
      this.#tensorFeeds.set(tensor, feeds);
    }
    const ticket = this.#nextTicket++;
    this.#accepted++;
    return this.#infer(undefined, feeds, options, ticket);
  }

  /**
   * One frame through the engine: `frame` preprocessed into a pooled input buffer, or `prepared`
   * feeds (inferTensor) as they are. One async function on purpose: at batch 1 on a small model
   * every extra promise level is a measurable share of the latency.
   */
  async #infer(frame: ImageInput | undefined, prepared: Record<string, RuntimeTensor> | undefined, options: InferOptions | undefined, ticket: number): Promise<InferResult> {
    const start = performance.now();
    const slot = prepared === undefined ? (this.#free.pop() ?? this.#newSlot()) : undefined;
    let ran = false;
    try {
      let feeds: Record<string, RuntimeTensor>;
      let transform: ImageTransform;
      if (slot === undefined) {
        feeds = prepared!;
        transform = this.preprocessor.modelTransform;
      } else {
        // Raw frames already at the model size (the batch-1 latency path) need no sharp round trip.
        transform = this.preprocessor.writeSync(frame!, slot.buffer) ?? (await this.preprocessor.run(frame!, { out: slot.buffer })).transform;
        feeds = slot.feeds;
      }
      options?.onInput?.(feeds[this.imageInput.name]);
      const afterPre = performance.now();
      let beforeRun = afterPre;
      if (this.#serving !== ticket) {
        await this.#waitTurn(ticket);
        beforeRun = performance.now();
      }
      let outputs: Record<string, RuntimeTensor>;
      try {
        outputs = await this.session.run(feeds);
      } finally {
        ran = true;
        this.#finishTurn(ticket);
      }
      const afterRun = performance.now();
      const prediction = predict(this.#plan, outputs, transform);
      const end = performance.now();
      return {
        prediction,
        outputs,
        latencyMs: { preprocess: afterPre - start, queued: beforeRun - afterPre, inference: afterRun - beforeRun, postprocess: end - afterRun, total: end - start },
        transform,
        model: this.#model,
        provider: this.session.provider,
      };
    } finally {
      // A frame that never reached the session (bad bytes) gives its turn up in order.
      if (!ran) this.#finishTurn(ticket);
      if (slot !== undefined && this.#free.length < MAX_POOLED_BUFFERS) this.#free.push(slot);
      if (--this.#accepted === 0) this.#idle?.();
    }
  }

  #closedError(): EngineClosedError {
    return new EngineClosedError(`engine for ${this.manifest.name} v${this.manifest.version} is closed`);
  }

  #newSlot(): InputSlot {
    const buffer = this.preprocessor.spec.dtype === 'float32' ? new Float32Array(this.preprocessor.elementCount) : new Uint8Array(this.preprocessor.elementCount);
    // One tensor and one feeds object per buffer for the engine's lifetime: the session adapter
    // sees the same objects every frame and skips re-validating and re-wrapping them.
    const tensor: RuntimeTensor = { dtype: this.preprocessor.spec.dtype, dims: this.preprocessor.dims, data: buffer };
    return { buffer, tensor, feeds: { [this.imageInput.name]: tensor } };
  }

  #waitTurn(ticket: number): Promise<void> {
    return new Promise((resolve) => this.#turns.set(ticket, resolve));
  }

  /** Ticket `ticket` is done with the session (ran, failed, or never got there): let the next one in. */
  #finishTurn(ticket: number): void {
    if (ticket !== this.#serving) {
      // Finished before its turn (its bytes did not decode): skip it when its turn comes.
      this.#gaveUp.add(ticket);
      return;
    }
    this.#serving++;
    // Both collections are empty in a one-frame-at-a-time loop: skip the lookups then.
    if (this.#gaveUp.size > 0) while (this.#gaveUp.delete(this.#serving)) this.#serving++;
    const next = this.#turns.size > 0 ? this.#turns.get(this.#serving) : undefined;
    if (next) {
      this.#turns.delete(this.#serving);
      next();
    }
  }

  /** Runs the golden pairs again (e.g. periodically, or after a driver update). */
  async healthCheck(): Promise<HealthReport> {
    if (this.#closed) throw new EngineClosedError();
    return runGoldenHealthCheck(this.session, this.bundle);
  }

  /** Stops taking frames, lets frames in flight finish, then frees the session. Idempotent. */
  release(): Promise<void> {
    if (!this.#releasing) {
      this.#closed = true;
      this.#releasing = (async () => {
        if (this.#accepted > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
        await this.session.release();
      })();
    }
    return this.#releasing;
  }
}

async function openBundleWithTrust(path: string, trust: Trust | undefined): Promise<OpenedBundle> {
  if (trust === undefined) throw new UnsupportedModelError(`opening ${path} needs a trust store (or trust: 'skip-signature' for development)`);
  return openBundle(path, { trust });
}

function imageInputOf(manifest: Manifest, kernel: PreprocessorOptions['kernel']): { imageInput: ModelInput; preprocessor: Preprocessor } {
  const inputs = manifest.model.inputs;
  const image = inputs.filter((i) => i.preprocessing !== undefined);
  if (image.length !== 1 || inputs.length !== 1) {
    throw new UnsupportedModelError(
      `bundle ${manifest.name} has ${inputs.length} input(s), ${image.length} with preprocessing; the frame engine needs exactly one image input`,
    );
  }
  const input = image[0];
  const spec = input.preprocessing!;
  const preprocessor = new Preprocessor(spec, kernel ? { kernel } : {});
  if (input.dtype !== spec.dtype) {
    throw new UnsupportedModelError(`input '${input.name}' is ${input.dtype} but its preprocessing produces ${spec.dtype}`);
  }
  const dims = preprocessor.dims;
  const fits = input.shape.length === dims.length && input.shape.every((d, axis) => typeof d === 'string' || d < 0 || d === dims[axis]);
  if (!fits) {
    throw new UnsupportedModelError(`input '${input.name}' has shape [${input.shape.join(',')}] but its preprocessing produces [${dims.join(',')}]`);
  }
  return { imageInput: input, preprocessor };
}

function providersOf(profile: DeviceProfile | undefined): ProviderName[] {
  if (profile === undefined) return ['cpu'];
  return profile.executionProviders.map((p) => p.name).filter(isProviderName);
}

/** The profile's per-provider options (TensorRT fp16 and engine cache, CUDA device, ...), if any. */
function providerOptionsOf(profile: DeviceProfile | undefined): Partial<Record<ProviderName, ProviderOptions>> | undefined {
  const out: Partial<Record<ProviderName, ProviderOptions>> = {};
  let any = false;
  for (const entry of profile?.executionProviders ?? []) {
    if (entry.options === undefined || !isProviderName(entry.name)) continue;
    out[entry.name] = entry.options;
    any = true;
  }
  return any ? out : undefined;
}

/** onnxruntime-node for native providers, onnxruntime-web for 'wasm' (registered after, so it is the last resort). */
export async function defaultBackend(providers: readonly ProviderName[]): Promise<BackendRegistry> {
  const registry = new BackendRegistry();
  let nodeFailure: unknown;
  try {
    registry.register(createNodeBackend());
  } catch (error) {
    nodeFailure = error;
  }
  if (providers.includes('wasm')) registry.register(await createWebBackend());
  if (registry.backends.length === 0) {
    throw new BackendLoadError('onnxruntime-node', `not loadable and 'wasm' is not among the providers: ${describeError(nodeFailure)}`, { cause: nodeFailure });
  }
  return registry;
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  return Engine.open(options);
}
