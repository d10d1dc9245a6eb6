// Device profiles (devices/*.json): what a target can run. `compile --target NAME` picks
// precision and opset from it; the runtime picks execution providers and threads from it.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

import { DeviceProfileError, formatViolations } from './errors.js';
import { NameSchema } from './manifest.js';
import { schemaViolations } from './schema-check.js';

const strict = { additionalProperties: false } as const;

export const EXECUTION_PROVIDERS = ['tensorrt', 'cuda', 'coreml', 'xnnpack', 'cpu', 'wasm', 'webgpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

export const ExecutionProviderSchema = Type.Object(
  {
    name: Type.Union(EXECUTION_PROVIDERS.map((p) => Type.Literal(p))),
    /** Passed to the provider as-is (e.g. TensorRT `trt_fp16_enable`, CUDA `device_id`). */
    options: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
  },
  strict,
);

export const CameraDefaultsSchema = Type.Object(
  {
    width: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    fps: Type.Number({ exclusiveMinimum: 0 }),
    /** Capture pixel format, e.g. 'mjpeg', 'yuyv422', 'nv12', 'rgb24'. */
    format: Type.String({ minLength: 1 }),
  },
  strict,
);

export const DeviceProfileSchema = Type.Object(
  {
    name: NameSchema,
    description: Type.String(),
    arch: Type.Union([Type.Literal('x64'), Type.Literal('arm64'), Type.Literal('arm'), Type.Literal('wasm32')]),
    /** 'linux', 'darwin', 'win32' or 'browser'. */
    os: Type.String({ minLength: 1 }),
    accelerators: Type.Array(Type.String()),
    /** Preference order; the runtime tries each in turn and records why one was skipped. */
    executionProviders: Type.Array(ExecutionProviderSchema, { minItems: 1 }),
    threads: Type.Object({ intra: Type.Integer({ minimum: 1 }), inter: Type.Integer({ minimum: 1 }) }, strict),
    memoryBudgetMB: Type.Number({ exclusiveMinimum: 0 }),
    diskBudgetMB: Type.Number({ exclusiveMinimum: 0 }),
    precision: Type.Union([Type.Literal('int8'), Type.Literal('fp16'), Type.Literal('fp32')]),
    maxOpset: Type.Integer({ minimum: 1 }),
    camera: CameraDefaultsSchema,
    notes: Type.String(),
  },
  { ...strict, $id: 'https://edgeloop.dev/schemas/device-profile-v1.json' },
);

export type ExecutionProvider = Static<typeof ExecutionProviderSchema>;
export type CameraDefaults = Static<typeof CameraDefaultsSchema>;
export type DeviceProfile = Static<typeof DeviceProfileSchema>;

export function validateDeviceProfile(json: unknown): DeviceProfile {
  const violations = schemaViolations(DeviceProfileSchema, json);
  const profile = json as DeviceProfile;
  if (violations.length === 0) {
    const names = profile.executionProviders.map((p) => p.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) violations.push({ path: `/executionProviders/${i}/name`, message: `duplicate provider ${name}` });
    });
  }
  if (violations.length > 0) {
    throw new DeviceProfileError(`device profile invalid: ${formatViolations(violations)}`, { violations });
  }
  return profile;
}

/**
 * The repository's devices/ folder, found relative to this package (packages/bundle/dist → repo
 * root); EDGELOOP_DEVICES_DIR overrides it for installs outside the repository.
 */
export function defaultProfilesDir(): string {
  const fromEnv = process.env.EDGELOOP_DEVICES_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'devices');
}

export interface ProfileLookupOptions {
  profilesDir?: string;
}

/** Loads a profile by name (`raspberry-pi-4`) from the profiles dir, or by path (anything with a slash or ending in .json). */
export async function loadDeviceProfile(nameOrPath: string, options: ProfileLookupOptions = {}): Promise<DeviceProfile> {
  const byPath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  const dir = options.profilesDir ?? defaultProfilesDir();
  const file = byPath ? resolve(nameOrPath) : join(dir, `${nameOrPath}.json`);
  if (!existsSync(file)) {
    const known = byPath ? [] : await profileFileNames(dir).catch(() => []);
    throw new DeviceProfileError(
      `device profile ${nameOrPath} not found (${file})${known.length > 0 ? `; known: ${known.map((f) => basename(f, '.json')).join(', ')}` : ''}`,
    );
  }
  return loadProfileFile(file);
}

/** Every profile in the profiles dir, validated, sorted by name. */
export async function listDeviceProfiles(options: ProfileLookupOptions = {}): Promise<DeviceProfile[]> {
  const dir = options.profilesDir ?? defaultProfilesDir();
  let files: string[];
  try {
    files = await profileFileNames(dir);
  } catch (error) {
    throw new DeviceProfileError(`cannot read device profiles directory ${dir}`, { cause: error });
  }
  const profiles: DeviceProfile[] = [];
  for (const file of files) profiles.push(await loadProfileFile(join(dir, file)));
  return profiles.sort((a, b) => a.name.localeCompare(b.name));
}

async function profileFileNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
}

async function loadProfileFile(file: string): Promise<DeviceProfile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new DeviceProfileError(`device profile ${file} is not readable JSON: ${(error as Error).message}`, { cause: error });
  }
  let profile: DeviceProfile;
  try {
    profile = validateDeviceProfile(json);
  } catch (error) {
    const violations = error instanceof DeviceProfileError ? error.violations : [];
    throw new DeviceProfileError(`${file}: ${(error as Error).message}`, { cause: error, violations });
  }
  if (profile.name !== basename(file, '.json')) {
    throw new DeviceProfileError(`device profile ${file} is named ${profile.name}; the file name must match`);
  }
  return profile;
}
