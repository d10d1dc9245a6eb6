// Packages an ONNX model as a signed bundle: manifest from the IR (inputs, outputs, opset),
// preprocessing from the trainer's metadata or options, golden pairs run on this host.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createBundle, loadDeviceProfile } from '@edgeloop/bundle';
import type {
  CreatedBundle,
  GoldenSample,
  ManifestInput,
  MemberSource,
  Postprocessing,
  Metrics,
  Precision,
  Preprocessing,
  Provenance,
  Task,
} from '@edgeloop/bundle';
import { decodeModel } from '../ir/serde.js';
import type { Model } from '../ir/types.js';
import { PackagingError } from '../errors.js';
import { makeGoldenPairs } from './golden.js';
import type { GoldenTensor } from './golden.js';
import {
  concreteShape,
  modelIo,
  readEdgeloopMetadata,
  resolvePreprocessing,
  toManifestInput,
  toManifestOutput,
} from './model-io.js';

export interface BundleModelOptions {
  /** The ONNX model file, or its bytes with a name. */
  model: string | { bytes: Uint8Array; name: string };
  outPath: string;
  privateKeyPem: string;
  name?: string;
  version: number;
  task?: Task;
  labels?: string[];
  /** How the runtime reads the outputs (format, thresholds), by output name. */
  postprocessing?: Record<string, Postprocessing>;
  targetProfile: string;
  /** Profile lookup folder (defaults to the repo's devices/). */
  profilesDir?: string;
  /** Preprocessing fields that override the model's metadata, for the (single) image input. */
  preprocessing?: Partial<Preprocessing>;
  /** Fixes dynamic dims of the first input, e.g. [1, 3, 224, 224]. */
  inputShape?: number[];
  goldenCount?: number;
  goldenSeed?: number;
  goldenTolerance?: { abs: number; rel: number };
  precision?: Precision;
  provenance?: Provenance;
  metrics?: Metrics;
  calibration?: ManifestInput['calibration'];
  latencyBudgetMs?: number;
  extraMembers?: MemberSource[];
}

export interface BundledModel extends CreatedBundle {
  model: Model;
}

function rawBytes(t: GoldenTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function safeMemberName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

function modelOpset(model: Model): number {
  const onnx = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!onnx) throw new PackagingError('model imports no ai.onnx opset');
  return onnx.version;
}

export async function bundleModel(options: BundleModelOptions): Promise<BundledModel> {
  const bytes = typeof options.model === 'string' ? new Uint8Array(await readFile(options.model)) : options.model.bytes;
  const sourceName = typeof options.model === 'string' ? options.model : options.model.name;
  const model = decodeModel(bytes, { source: sourceName });
  const profile = await loadDeviceProfile(options.targetProfile, options.profilesDir ? { profilesDir: options.profilesDir } : {});
  const opset = modelOpset(model);
  if (profile.maxOpset !== undefined && opset > profile.maxOpset) {
    throw new PackagingError(`model opset ${opset} is above ${profile.name}'s maximum ${profile.maxOpset}`);
  }

  const io = modelIo(model);
  const meta = readEdgeloopMetadata(model);
  const imageInputs = io.inputs.filter((i) => i.shape.length === 4);
  if (options.preprocessing && Object.keys(options.preprocessing).length > 0 && imageInputs.length !== 1) {
    throw new PackagingError(`preprocessing options need exactly one rank-4 image input; the model has ${imageInputs.length}`);
  }
  const manifestInputs = io.inputs.map((input, index) => {
    const concrete = concreteShape(input.shape, index === 0 ? options.inputShape : undefined);
    const pre =
      input.shape.length === 4 && input.dtype !== 'int64'
        ? resolvePreprocessing(input, concrete, meta.preprocessing, options.preprocessing)
        : undefined;
    return { manifest: toManifestInput(input, pre), concrete, preprocessing: pre };
  });

  const goldenCount = options.goldenCount ?? 2;
  const pairs = await makeGoldenPairs(
    bytes,
    manifestInputs.map((m) => ({
      name: m.manifest.name,
      dtype: m.manifest.dtype,
      dims: m.concrete,
      ...(m.preprocessing ? { preprocessing: m.preprocessing } : {}),
    })),
    { count: goldenCount, seed: options.goldenSeed ?? 1 },
  );
  const modelPath = 'model.onnx';
  const members: MemberSource[] = [{ path: modelPath, role: 'model', data: bytes }];
  const golden: GoldenSample[] = pairs.map((pair, k) => {
    const sample: GoldenSample = {
      inputs: {},
      outputs: {},
      tolerance: options.goldenTolerance ?? { abs: 1e-4, rel: 1e-3 },
    };
    for (const [kind, tensors] of [['inputs', pair.inputs], ['outputs', pair.outputs]] as const) {
      for (const [name, t] of Object.entries(tensors)) {
        const member = `golden/${k}/${kind === 'inputs' ? 'in' : 'out'}.${safeMemberName(name)}.bin`;
        members.push({ path: member, role: 'golden', data: rawBytes(t) });
        sample[kind][name] = { member, dtype: t.dtype, dims: t.dims };
      }
    }
    return sample;
  });
  members.push(...(options.extraMembers ?? []));

  for (const name of Object.keys(options.postprocessing ?? {})) {
    if (!io.outputs.some((o) => o.name === name)) throw new PackagingError(`postprocessing names output '${name}', which the model does not have (outputs: ${io.outputs.map((o) => o.name).join(', ')})`);
  }
  const labels = options.labels ?? meta.labels ?? [];
  const task = options.task ?? meta.task ?? (labels.length > 0 ? 'classification' : 'raw');
  const manifest: ManifestInput = {
    name: options.name ?? basename(sourceName).replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9._-]/g, '-'),
    version: options.version,
    task,
    labels,
    targetProfile: profile.name,
    model: {
      path: modelPath,
      inputs: manifestInputs.map((m) => m.manifest),
      outputs: io.outputs.map((o) => {
        const out = toManifestOutput(o);
        const hint = options.postprocessing?.[o.name];
        return hint === undefined ? out : { ...out, postprocessing: hint };
      }),
      opset,
      precision: options.precision ?? 'fp32',
    },
    provenance: { createdBy: 'edgeloop', ...(options.provenance ?? {}) },
    metrics: options.metrics ?? {},
    golden,
  };
  if (options.calibration) manifest.calibration = options.calibration;
  if (options.latencyBudgetMs !== undefined) manifest.latencyBudgetMs = options.latencyBudgetMs;
  const created = await createBundle({ outPath: options.outPath, manifest, members, privateKeyPem: options.privateKeyPem });
  return { ...created, model };
}
