// The store's index: one JSON record per line. New records are appended (one write of whole
// lines, fsynced); a later line for the same sha256 replaces the earlier one (label changes are
// appends too). `rewrite` compacts through a temp file and a rename. A torn last line (a crash
// mid-append) is dropped on read; a bad line anywhere else is an error, never skipped.
import { open, readFile } from 'node:fs/promises';
import { DatasetStoreError } from '../errors.js';
import { writeFileAtomic } from '@edgeloop/bundle';
import type { SampleRecord } from './records.js';

export interface IndexContents {
  records: Map<string, SampleRecord>;
  /** Lines (appends that were later superseded included). */
  lines: number;
  /** True when the last line was torn and dropped. */
  tornTail: boolean;
}

export async function readIndex(path: string): Promise<IndexContents> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: new Map(), lines: 0, tornTail: false };
    throw error;
  }
  const lines = text.split('\n');
  const complete = text.endsWith('\n') || text.length === 0;
  const records = new Map<string, SampleRecord>();
  let count = 0;
  let tornTail = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) continue;
    const last = i === lines.length - 1;
    let record: SampleRecord;
    try {
      record = JSON.parse(line) as SampleRecord;
      if (typeof record.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(record.sha256)) throw new Error('no sha256');
    } catch (error) {
      if (last && !complete) {
        tornTail = true;
        continue;
      }
      throw new DatasetStoreError(path, `index line ${i + 1} is not a sample record: ${(error as Error).message}`);
    }
    if (last && !complete) {
      // Parsed, but the newline never made it: keep the record, rewrite to restore the newline.
      tornTail = true;
    }
    records.set(record.sha256, record);
    count++;
  }
  return { records, lines: count, tornTail };
}

export async function appendIndex(path: string, records: readonly SampleRecord[]): Promise<void> {
  if (records.length === 0) return;
  const handle = await open(path, 'a');
  try {
    await handle.writeFile(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function rewriteIndex(path: string, records: Iterable<SampleRecord>): Promise<void> {
  let text = '';
  for (const r of records) text += `${JSON.stringify(r)}\n`;
  await writeFileAtomic(path, text);
}
