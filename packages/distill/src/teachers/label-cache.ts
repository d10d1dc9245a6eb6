// Teacher outputs on disk, keyed by (teacher id, sample sha256): relabelling the same data with
// the same teacher costs nothing, and a run that dies midway keeps every batch it finished.
// Layout: <dir>/<teacher id>/<sha[0..2]>/<sha>.json = {"kind": "logits"|"probabilities", "values": [...]},
// each file written atomically (temp + rename, no fsync: a lost entry is only relabelled), so a
// reader never sees half an entry.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@edgeloop/bundle';
import type { TeacherSample } from './teacher.js';

export interface CachedOutput {
  kind: 'logits' | 'probabilities';
  values: number[];
}

/** The cache key of a sample: its image's sha256 (given or computed), else its tensor's. */
export function sampleKey(sample: TeacherSample): string {
  if (sample.sha256) return sample.sha256;
  if (sample.image) return createHash('sha256').update(sample.image).digest('hex');
  if (sample.tensor) return createHash('sha256').update('tensor:').update(new Uint8Array(sample.tensor.buffer, sample.tensor.byteOffset, sample.tensor.byteLength)).digest('hex');
  throw new TypeError('a sample needs an image or a tensor');
}

export class LabelCache {
  constructor(readonly dir: string) {}

  path(teacherId: string, key: string): string {
    return join(this.dir, teacherId, key.slice(0, 2), `${key}.json`);
  }

  /** The cached output, or undefined when absent or unreadable (an unreadable entry is relabelled). */
  async get(teacherId: string, key: string): Promise<CachedOutput | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(teacherId, key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as Partial<CachedOutput>;
      if ((entry.kind === 'logits' || entry.kind === 'probabilities') && Array.isArray(entry.values) && entry.values.every(Number.isFinite)) {
        return { kind: entry.kind, values: entry.values };
      }
    } catch {
      // fall through: treated as a miss
    }
    return undefined;
  }

  async set(teacherId: string, key: string, output: CachedOutput): Promise<void> {
    await writeFileAtomic(this.path(teacherId, key), JSON.stringify(output), { durable: false });
  }
}
