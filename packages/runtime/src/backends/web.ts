// onnxruntime-web (WASM) behind the InferenceBackend contract: for devices without a native
// onnxruntime build (32-bit ARM) and for checking native results against a second engine.
// In Node, 'onnxruntime-web' resolves to its node build, which finds its .wasm beside itself.

import { readFile } from 'node:fs/promises';

import { resolveProviders, type InferenceBackend, type InferenceSession, type ProviderName, type SessionOptions } from '../backend.js';
import { BackendLoadError, ModelLoadError, describeError } from '../errors.js';
import { OrtSessionAdapter, classifyCreateError, executionProviderConfig, type OrtModule, type OrtSessionOptions } from './ort-session.js';

export interface WebBackendOptions {
  /**
   * WASM threads. onnxruntime-web fixes this process-wide when it initialises (at the first
   * session), so it is set once: from this option, else from the first session's threads.intra,
   * else onnxruntime-web's default.
   */
  numThreads?: number;
  /** Where the .wasm files live, when not beside onnxruntime-web's own scripts. */
  wasmPaths?: string;
}

interface OrtWebModule extends OrtModule {
  env: {
    versions?: Record<string, string | undefined>;
    wasm: { numThreads?: number; wasmPaths?: unknown };
  };
}

const WEB_PROVIDERS: readonly ProviderName[] = ['wasm'];

export class WebBackend implements InferenceBackend {
  readonly name = 'onnxruntime-web';
  readonly providers = WEB_PROVIDERS;
  readonly version: string;
  readonly #ort: OrtWebModule;
  readonly #options: WebBackendOptions;
  #initialised = false;

  constructor(ort: OrtWebModule, options: WebBackendOptions) {
    this.#ort = ort;
    this.#options = options;
    this.version = ort.env.versions?.web ?? 'unknown';
  }

  /** WASM threads in use once the first session exists (undefined before: onnxruntime-web's default applies). */
  get numThreads(): number | undefined {
    return this.#ort.env.wasm.numThreads;
  }

  async createSession(model: Uint8Array | string, options: SessionOptions): Promise<InferenceSession> {
    const bytes = typeof model === 'string' ? await readModelFile(model) : model;
    const resolved = await resolveProviders(options.providers, (provider) => this.#createFor(provider, bytes, options));
    return new OrtSessionAdapter(this.#ort, resolved.value, resolved.provider, resolved.fallbacks);
  }

  async #createFor(provider: ProviderName, model: Uint8Array, options: SessionOptions) {
    if (!WEB_PROVIDERS.includes(provider)) throw new Error('not served by onnxruntime-web');
    this.#initialiseOnce(options);
    const sessionOptions: OrtSessionOptions = { executionProviders: [executionProviderConfig(provider, options.providerOptions?.[provider])] };
    if (options.graphOptimization !== undefined) sessionOptions.graphOptimizationLevel = options.graphOptimization;
    try {
      return await this.#ort.InferenceSession.create(model, sessionOptions);
    } catch (error) {
      const classified = classifyCreateError(error);
      if (classified !== error) throw classified;
      throw new Error(`failed to initialise: ${describeError(error)}`, { cause: error });
    }
  }

  #initialiseOnce(options: SessionOptions): void {
    if (this.#initialised) return;
    this.#initialised = true;
    const threads = this.#options.numThreads ?? options.threads?.intra;
    if (threads !== undefined) this.#ort.env.wasm.numThreads = threads;
    if (this.#options.wasmPaths !== undefined) this.#ort.env.wasm.wasmPaths = this.#options.wasmPaths;
  }
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ModelLoadError(`${path}: ${describeError(error)}`, { cause: error });
  }
}

export async function createWebBackend(options: WebBackendOptions = {}): Promise<WebBackend> {
  let ort: OrtWebModule;
  try {
    ort = (await import('onnxruntime-web')) as unknown as OrtWebModule;
  } catch (error) {
    throw new BackendLoadError('onnxruntime-web', describeError(error), { cause: error });
  }
  return new WebBackend(ort, options);
}
