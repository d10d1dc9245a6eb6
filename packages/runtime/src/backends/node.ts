// onnxruntime-node behind the InferenceBackend contract. The bundled npm build has CPU (and, on
// some platforms, WebGPU/DirectML/CoreML); CUDA and TensorRT work only where their provider
// libraries are installed, e.g. a custom build for JetPack pointed to by EDGELOOP_ORT_NODE_PATH.

import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';

import { resolveProviders, type InferenceBackend, type InferenceSession, type ProviderName, type SessionOptions } from '../backend.js';
import { BackendLoadError, describeError } from '../errors.js';
import { OrtSessionAdapter, classifyCreateError, executionProviderConfig, type OrtExecutionProviderConfig, type OrtModule, type OrtSessionOptions } from './ort-session.js';

/** Environment variable naming a custom onnxruntime-node build (package folder or entry file). */
export const ORT_NODE_PATH_ENV = 'EDGELOOP_ORT_NODE_PATH';

const NODE_PROVIDERS: readonly ProviderName[] = ['tensorrt', 'cuda', 'dml', 'coreml', 'qnn', 'openvino', 'xnnpack', 'webgpu', 'cpu'];

export interface NodeBackendOptions {
  /** Folder or entry file of an onnxruntime-node build; defaults to $EDGELOOP_ORT_NODE_PATH, then the installed package. */
  ortModulePath?: string;
  /** onnxruntime's own log level, set once before the first session (process-wide in onnxruntime). */
  logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
}

export interface ProviderSupport {
  name: string;
  /** false: the build knows the provider but its shared libraries are not shipped with it. */
  bundled: boolean;
}

export interface OrtNodeBuild {
  source: 'installed' | 'custom';
  /** Resolved entry file of the loaded onnxruntime-node module. */
  modulePath: string;
  version: string;
  /** What the build reports via listSupportedBackends(); undefined when the build cannot tell. */
  providers: readonly ProviderSupport[] | undefined;
}

export interface OrtNodeModule extends OrtModule {
  env: { versions?: Record<string, string | undefined>; logLevel?: string };
  listSupportedBackends?: () => ProviderSupport[];
}

export class NodeBackend implements InferenceBackend {
  readonly name = 'onnxruntime-node';
  readonly providers = NODE_PROVIDERS;
  readonly build: OrtNodeBuild;
  readonly #ort: OrtNodeModule;

  constructor(ort: OrtNodeModule, build: OrtNodeBuild) {
    this.#ort = ort;
    this.build = build;
  }

  /** Why `provider` cannot be used before even trying, or undefined when it may work. */
  unavailableReason(provider: ProviderName): string | undefined {
    if (!NODE_PROVIDERS.includes(provider)) return 'not served by onnxruntime-node';
    const supported = this.build.providers;
    if (supported && !supported.some((p) => p.name === provider)) return `not in this onnxruntime-node build (${this.build.modulePath})`;
    return undefined;
  }

  async createSession(model: Uint8Array | string, options: SessionOptions): Promise<InferenceSession> {
    const resolved = await resolveProviders(options.providers, (provider) => this.#createFor(provider, model, options));
    return new OrtSessionAdapter(this.#ort, resolved.value, resolved.provider, resolved.fallbacks);
  }

  async #createFor(provider: ProviderName, model: Uint8Array | string, options: SessionOptions) {
    const unavailable = this.unavailableReason(provider);
    if (unavailable) throw new Error(unavailable);
    const sessionOptions: OrtSessionOptions = { executionProviders: this.#executionProviders(provider, options) };
    if (options.threads?.intra !== undefined) sessionOptions.intraOpNumThreads = options.threads.intra;
    if (options.threads?.inter !== undefined) {
      sessionOptions.interOpNumThreads = options.threads.inter;
      sessionOptions.executionMode = options.threads.inter > 1 ? 'parallel' : 'sequential';
    }
    if (options.graphOptimization !== undefined) sessionOptions.graphOptimizationLevel = options.graphOptimization;
    if (options.spinning !== undefined) {
      const allow = options.spinning ? '1' : '0';
      sessionOptions.extra = { session: { intra_op: { allow_spinning: allow }, inter_op: { allow_spinning: allow } } };
    }
    try {
      return typeof model === 'string'
        ? await this.#ort.InferenceSession.create(model, sessionOptions)
        : await this.#ort.InferenceSession.create(model, sessionOptions);
    } catch (error) {
      const classified = classifyCreateError(error);
      if (classified !== error) throw classified;
      const support = this.build.providers?.find((p) => p.name === provider);
      const hint = support && !support.bundled ? ' (its provider libraries are not shipped with this build)' : '';
      throw new Error(`failed to initialise${hint}: ${describeError(error)}`, { cause: error });
    }
  }

  // TensorRT leaves the nodes it cannot compile to the next provider; give it CUDA when CUDA
  // comes later in the preference list, so they do not drop to the CPU. Each entry carries the
  // profile's options for that provider.
  #executionProviders(provider: ProviderName, options: SessionOptions): OrtExecutionProviderConfig[] {
    const requested = options.providers;
    const names: ProviderName[] =
      provider === 'tensorrt' && requested.indexOf('cuda') > requested.indexOf('tensorrt') && !this.unavailableReason('cuda') ? ['tensorrt', 'cuda'] : [provider];
    return names.map((name) => executionProviderConfig(name, options.providerOptions?.[name]));
  }
}

/**
 * Loads onnxruntime-node (the installed package, or a custom build from `ortModulePath` /
 * $EDGELOOP_ORT_NODE_PATH) and reports which build is in use.
 */
export function createNodeBackend(options: NodeBackendOptions = {}): NodeBackend {
  const require = createRequire(import.meta.url);
  const customPath = options.ortModulePath ?? process.env[ORT_NODE_PATH_ENV];
  let request = 'onnxruntime-node';
  if (customPath !== undefined && customPath !== '') {
    request = isAbsolute(customPath) ? customPath : resolve(customPath);
  }
  let modulePath: string;
  let ort: OrtNodeModule;
  try {
    modulePath = require.resolve(request);
    ort = require(modulePath) as OrtNodeModule;
  } catch (error) {
    throw new BackendLoadError('onnxruntime-node', `cannot load ${request}: ${describeError(error)}`, { cause: error });
  }
  if (typeof ort.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    throw new BackendLoadError('onnxruntime-node', `${modulePath} does not export InferenceSession and Tensor`);
  }
  if (options.logLevel !== undefined) ort.env.logLevel = options.logLevel;
  let providers: ProviderSupport[] | undefined;
  if (typeof ort.listSupportedBackends === 'function') {
    providers = ort.listSupportedBackends().map((p) => ({ name: p.name, bundled: p.bundled }));
  }
  return new NodeBackend(ort, {
    source: request === 'onnxruntime-node' ? 'installed' : 'custom',
    modulePath,
    version: ort.env.versions?.node ?? versionFromPackage(require, modulePath),
    providers,
  });
}

function versionFromPackage(require: NodeJS.Require, modulePath: string): string {
  // Entry is <pkg>/dist/index.js in onnxruntime-node; walk up to the package.json.
  for (let dir = dirname(modulePath); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = require(resolve(dir, 'package.json')) as { name?: string; version?: string };
      if (pkg.name === 'onnxruntime-node' && pkg.version) return pkg.version;
    } catch {
      // keep walking up
    }
  }
  return 'unknown';
}
