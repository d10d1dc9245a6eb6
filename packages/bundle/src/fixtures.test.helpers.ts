// Shared fixtures for this package's tests (the `.test.` infix keeps it out of the published files).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BLOCK_SIZE, END_OF_ARCHIVE, encodeHeader, paddingFor, parseHeader } from './format.js';
import { generateKeyPair } from './keys.js';
import type { KeyPair } from './keys.js';
import type { ManifestInput } from './manifest.js';
import type { MemberSource } from './pack.js';
import { encodeTensor } from './tensor.js';

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-bundle-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let cachedKeys: KeyPair | undefined;
/** One signing key for the whole test file (key generation is cheap, but stable ids read better). */
export function testKeys(): KeyPair {
  cachedKeys ??= generateKeyPair();
  return cachedKeys;
}

export function sampleManifestInput(overrides: Partial<ManifestInput> = {}): ManifestInput {
  return {
    name: 'digits',
    version: 3,
    task: 'classification',
    labels: ['zero', 'one', 'two'],
    targetProfile: 'raspberry-pi-4',
    model: {
      path: 'model.onnx',
      inputs: [
        {
          name: 'input',
          dtype: 'float32',
          shape: ['batch', 1, 4, 4],
          preprocessing: {
            width: 4,
            height: 4,
            resize: 'stretch',
            colorOrder: 'GRAY',
            layout: 'NCHW',
            dtype: 'float32',
            scale: 1 / 255,
            mean: [0.5],
            std: [0.25],
          },
        },
      ],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 3], postprocessing: { format: 'logits' } }],
      opset: 17,
      precision: 'int8',
    },
    provenance: { parentVersion: 2, teacherHash: 'a'.repeat(64), createdBy: 'test' },
    metrics: { accuracy: 0.97, agreement: 0.99, latencyMs: 1.5, note: 'fixture' },
    calibration: { input: { mean: [0.1], std: [0.9], min: -2, max: 2, histogram: { min: -2, max: 2, counts: [1, 5, 1] } } },
    golden: [
      {
        inputs: { input: { member: 'golden/0/input.bin', dtype: 'float32', dims: [1, 1, 4, 4] } },
        outputs: { logits: { member: 'golden/0/logits.bin', dtype: 'float32', dims: [1, 3] } },
        tolerance: { abs: 1e-3, rel: 1e-2 },
      },
    ],
    latencyBudgetMs: 20,
    ...overrides,
  };
}

/** A deterministic pseudo-model: bytes that are not all the same, large enough to span several blocks. */
export function fakeModelBytes(size = 3000): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

export function sampleMembers(model: Uint8Array = fakeModelBytes()): MemberSource[] {
  return [
    { path: 'model.onnx', role: 'model', data: model },
    { path: 'golden/0/input.bin', role: 'golden', data: encodeTensor('float32', Array.from({ length: 16 }, (_, i) => i / 16)) },
    { path: 'golden/0/logits.bin', role: 'golden', data: encodeTensor('float32', [0.1, 2.5, -1]) },
  ];
}

/** Writes a raw ustar file from entries, with no safety checks (for crafting hostile bundles). */
export async function writeRawTar(
  path: string,
  entries: { path: string; data: Uint8Array }[],
  options: { endMarker?: boolean; trailing?: Uint8Array } = {},
): Promise<void> {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    parts.push(encodeHeader({ path: entry.path, size: entry.data.byteLength, mtime: 0 }), entry.data);
    parts.push(new Uint8Array(paddingFor(entry.data.byteLength)));
  }
  if (options.endMarker !== false) parts.push(END_OF_ARCHIVE);
  if (options.trailing !== undefined) parts.push(options.trailing);
  await writeFile(path, Buffer.concat(parts));
}

/** Splits a small tar file into its entries (tests only: reads the whole file). */
export async function readRawTar(path: string): Promise<{ path: string; data: Uint8Array }[]> {
  const bytes = new Uint8Array(await readFile(path));
  const out: { path: string; data: Uint8Array }[] = [];
  let at = 0;
  for (;;) {
    const header = parseHeader(bytes.subarray(at, at + BLOCK_SIZE), at);
    if (header === null) return out;
    at += BLOCK_SIZE;
    out.push({ path: header.path, data: bytes.slice(at, at + header.size) });
    at += header.size + paddingFor(header.size);
  }
}
