// Training checkpoints: one file, written atomically (temp file, fsync, rename, fsync of the
// folder) so a crash leaves either the previous checkpoint or the new one, never a torn file.
//   "EDGECKPT" | u32 header length | JSON header | padding to 4 | float32 tensors back to back
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { CheckpointError } from './errors.js';

const MAGIC = 'EDGECKPT';

export interface CheckpointTensor {
  name: string;
  values: Float32Array;
}

export interface Checkpoint {
  /** Free-form JSON state (epoch, RNG state, history, optimizer step, ...). */
  meta: Record<string, unknown>;
  tensors: CheckpointTensor[];
}

interface Header {
  meta: Record<string, unknown>;
  tensors: { name: string; length: number }[];
}

export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const header: Header = { meta: checkpoint.meta, tensors: checkpoint.tensors.map((t) => ({ name: t.name, length: t.values.length })) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = 8 + 4 + json.length;
  const padding = (4 - (prefix % 4)) % 4;
  const head = Buffer.alloc(prefix + padding);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  json.copy(head, 12);
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const file = await open(temp, 'w');
  try {
    await file.write(head);
    for (const t of checkpoint.tensors) await file.write(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temp, { force: true });
    throw err;
  }
  await file.close();
  await rename(temp, path);
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** Reads a checkpoint; undefined when the file does not exist. */
export async function loadCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(path, 'cannot read', { cause: err });
  }
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) throw new CheckpointError(path, 'not an edgeloop checkpoint');
  const length = bytes.readUInt32LE(8);
  if (12 + length > bytes.length) throw new CheckpointError(path, 'truncated header');
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + length)) as Header;
  } catch (err) {
    throw new CheckpointError(path, 'corrupt header', { cause: err });
  }
  let offset = 12 + length;
  offset += (4 - (offset % 4)) % 4;
  const tensors: CheckpointTensor[] = [];
  for (const t of header.tensors) {
    const end = offset + 4 * t.length;
    if (end > bytes.length) throw new CheckpointError(path, `truncated tensor ${t.name}`);
    const values = new Float32Array(t.length);
    new Uint8Array(values.buffer).set(bytes.subarray(offset, end));
    tensors.push({ name: t.name, values });
    offset = end;
  }
  return { meta: header.meta, tensors };
}

/** sha256 over named float / int arrays (names, lengths and bytes): identifies weights or data in a run's configuration. */
export function hashArrays(entries: Iterable<[string, ArrayBufferView | undefined]>): string {
  const hash = createHash('sha256');
  for (const [name, values] of entries) {
    if (!values) continue;
    hash.update(`${name}:${values.byteLength}\n`);
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The configuration as stored in a checkpoint: keys sorted, undefined dropped, JSON round-tripped. */
export function normalizeRunConfig(config: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(canonical(config))) as Record<string, unknown>;
}

const show = (v: unknown): string => (v === undefined ? 'none' : JSON.stringify(v));

/**
 * Throws a one-line CheckpointError when the checkpoint was written by a run with another
 * configuration (hyper-parameters, model, data): resuming it would silently mix two runs.
 * Checkpoints without a recorded configuration (older files) are accepted.
 */
export function assertSameRun(path: string, saved: unknown, current: Record<string, unknown>): void {
  if (!saved || typeof saved !== 'object') return;
  const before = saved as Record<string, unknown>;
  const now = normalizeRunConfig(current);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  const diffs = keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]))
    .map((k) => (/^[0-9a-f]{64}$/.test(String(before[k] ?? now[k])) ? `${k} differs` : `${k} ${show(before[k])} in the checkpoint, ${show(now[k])} now`));
  if (diffs.length > 0) {
    throw new CheckpointError(path, `written by a different run (${diffs.join('; ')}); delete it or use another checkpoint file`);
  }
}
