// Field samples out of the server (docs/ota-protocol.md §sample-export): one `<sha256>.jpg` and one
// `<sha256>.json` sidecar per image, the layout the dataset store imports.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '@edgeloop/bundle';
import type { SampleIndexEntry } from './sample-store.js';

/** The sidecar of an exported sample (§sample-export). */
export interface SampleSidecar {
  deviceId: string;
  modelVersion: number | null;
  /** The sampler's reasons, comma-separated ('low-confidence,small-margin'); '' when none were sent. */
  reason: string;
  prediction: unknown;
  /** When the device spooled the frame (ISO 8601). */
  capturedAt: string;
}

export interface SampleListOptions {
  device?: string;
  /** Only samples received at or after this time (ISO 8601). */
  since?: string;
}

/** The server's sample index, oldest first, one entry per (device, id, sha256). */
export async function listSamples(dataDir: string, options: SampleListOptions = {}): Promise<SampleIndexEntry[]> {
  const text = await readFile(join(dataDir, 'samples', 'index.jsonl'), 'utf8').catch(() => '');
  const out: SampleIndexEntry[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    let entry: SampleIndexEntry;
    try {
      entry = JSON.parse(line) as SampleIndexEntry;
    } catch {
      continue; // a torn last line after a crash: never acknowledged, the device sends it again
    }
    const key = `${entry.deviceId}\u0000${entry.id}\u0000${entry.sha256}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (options.device !== undefined && entry.deviceId !== options.device) continue;
    if (options.since !== undefined && entry.receivedAt < options.since) continue;
    out.push(entry);
  }
  return out;
}

export function sidecarOf(entry: SampleIndexEntry): SampleSidecar {
  const meta = entry.meta ?? {};
  const model = meta.model as { version?: unknown } | undefined;
  const reasons = Array.isArray(meta.reasons) ? meta.reasons.filter((r): r is string => typeof r === 'string') : [];
  return {
    deviceId: entry.deviceId,
    modelVersion: typeof model?.version === 'number' ? model.version : null,
    reason: reasons.join(','),
    prediction: meta.prediction ?? null,
    capturedAt: entry.ts,
  };
}

export interface ExportResult {
  outDir: string;
  /** Distinct images written. */
  exported: number;
  /** Index entries whose image another entry already exported (same sha256; the latest sidecar wins). */
  duplicates: number;
  files: string[];
}

/** Writes `<sha256>.jpg` + `<sha256>.json` for every selected sample into `outDir`. */
export async function exportSamples(dataDir: string, outDir: string, options: SampleListOptions = {}): Promise<ExportResult> {
  await mkdir(outDir, { recursive: true });
  const entries = await listSamples(dataDir, options);
  const bySha = new Map<string, SampleIndexEntry>();
  for (const entry of entries) bySha.set(entry.sha256, entry);
  const files: string[] = [];
  for (const [sha, entry] of bySha) {
    const image = join(outDir, `${sha}.jpg`);
    await copyFile(join(dataDir, 'samples', 'blobs', sha), image);
    const sidecar = join(outDir, `${sha}.json`);
    await writeFileAtomic(sidecar, `${JSON.stringify(sidecarOf(entry), null, 2)}\n`);
    files.push(image, sidecar);
  }
  return { outDir, exported: bySha.size, duplicates: entries.length - bySha.size, files };
}
