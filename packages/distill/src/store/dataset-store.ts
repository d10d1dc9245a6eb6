// A content-addressed image store (docs/datasets.md): blobs/<sha[0..2]>/<sha[2..]>, an index of
// sample records (index.jsonl) and store.json (format version, split ratios). Imports decode
// every image, skip and count corrupt ones, deduplicate by sha256 and never rewrite a blob.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { DatasetStoreError } from '../errors.js';
import { writeFileAtomic } from '@edgeloop/bundle';
import { checkImage, isImageName, mapLimit, walkFiles } from './images.js';
import { appendIndex, readIndex, rewriteIndex } from './index-file.js';
import type { FieldProvenance, Provenance, SampleRecord, Split, SplitRatios } from './records.js';
import { DEFAULT_SPLIT_RATIOS, extensionOf, splitOf, validateRatios } from './records.js';

const STORE_FORMAT = 'edgeloop-dataset-store';
const STORE_VERSION = 1;
/** Natural order, so classes '2' < '10' and frame_9 < frame_10. */
const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

interface StoreMeta {
  format: typeof STORE_FORMAT;
  version: number;
  splits: SplitRatios;
  createdAt: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ImportReport {
  /** Image files examined. */
  scanned: number;
  /** New samples added to the store. */
  added: number;
  /** Images whose bytes were already in the store (or earlier in this import). */
  duplicates: number;
  /** Duplicates that gave a label to a sample that had none. */
  labelled: number;
  /** Duplicates whose label differs from the stored one (the stored label is kept). */
  labelConflicts: SkippedFile[];
  /** Files that failed to decode, or field samples with a bad sidecar or hash: never imported silently. */
  corrupt: SkippedFile[];
  /** Files without an image extension (and field sidecars without an image), not examined. */
  ignored: number;
  /** Added samples per split and per label. */
  splits: Record<Split, number>;
  labels: Record<string, number>;
}

export interface ExportReport {
  exported: number;
  labels: Record<string, number>;
  unlabeled: number;
}

/** The JSON sidecar of a field sample (docs/datasets.md#field-samples). */
export interface FieldSidecar {
  deviceId: string;
  /** The bundle version that chose the frame; null when the device did not say. */
  modelVersion: string | number | null;
  reason: string;
  capturedAt: string;
  prediction?: unknown;
}

function emptyReport(): ImportReport {
  return { scanned: 0, added: 0, duplicates: 0, labelled: 0, labelConflicts: [], corrupt: [], ignored: 0, splits: { train: 0, val: 0, test: 0 }, labels: {} };
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0] ?? '';
}

export function parseFieldSidecar(json: unknown): FieldSidecar {
  const s = json as Partial<FieldSidecar> | null;
  if (typeof s !== 'object' || s === null) throw new Error('sidecar is not a JSON object');
  if (typeof s.deviceId !== 'string' || s.deviceId.length === 0) throw new Error('sidecar has no deviceId');
  if (typeof s.modelVersion !== 'string' && typeof s.modelVersion !== 'number' && s.modelVersion !== null) throw new Error('sidecar has no modelVersion (null when unknown)');
  if (typeof s.reason !== 'string') throw new Error('sidecar has no reason');
  if (typeof s.capturedAt !== 'string' || Number.isNaN(Date.parse(s.capturedAt))) throw new Error('sidecar has no valid capturedAt');
  return { deviceId: s.deviceId, modelVersion: s.modelVersion, reason: s.reason, capturedAt: s.capturedAt, ...(s.prediction !== undefined ? { prediction: s.prediction } : {}) };
}

export class DatasetStore {
  readonly dir: string;
  readonly splits: SplitRatios;
  #records: Map<string, SampleRecord>;

  private constructor(dir: string, meta: StoreMeta, records: Map<string, SampleRecord>) {
    this.dir = dir;
    this.splits = meta.splits;
    this.#records = records;
  }

  static isStore(dir: string): Promise<boolean> {
    return stat(join(dir, 'store.json')).then((s) => s.isFile(), () => false);
  }

  /** Opens a store; with `create`, makes it when absent (split ratios apply to a new store only). */
  static async open(dir: string, options: { create?: boolean; splits?: SplitRatios } = {}): Promise<DatasetStore> {
    const root = resolve(dir);
    const metaPath = join(root, 'store.json');
    let meta: StoreMeta;
    try {
      meta = JSON.parse(await readFile(metaPath, 'utf8')) as StoreMeta;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new DatasetStoreError(root, `cannot read store.json: ${describe(error)}`, { cause: error });
      if (!options.create) throw new DatasetStoreError(root, 'not a dataset store (no store.json); create one with `edgeloop dataset import`');
      meta = { format: STORE_FORMAT, version: STORE_VERSION, splits: validateRatios(options.splits ?? DEFAULT_SPLIT_RATIOS), createdAt: new Date().toISOString() };
      await mkdir(join(root, 'blobs'), { recursive: true });
      await writeFileAtomic(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
    }
    if (meta.format !== STORE_FORMAT || meta.version !== STORE_VERSION) throw new DatasetStoreError(root, `store.json is ${meta.format} v${meta.version}, expected ${STORE_FORMAT} v${STORE_VERSION}`);
    const index = await readIndex(join(root, 'index.jsonl'));
    const store = new DatasetStore(root, meta, index.records);
    if (index.tornTail) await store.compact();
    return store;
  }

  get indexPath(): string {
    return join(this.dir, 'index.jsonl');
  }

  blobPath(sha256: string): string {
    return join(this.dir, 'blobs', sha256.slice(0, 2), sha256.slice(2));
  }

  get size(): number {
    return this.#records.size;
  }

  get(sha256: string): SampleRecord | undefined {
    return this.#records.get(sha256);
  }

  /** Records in a stable order (label, then sha256), optionally of one split. */
  records(filter: { split?: Split; labelled?: boolean } = {}): SampleRecord[] {
    return [...this.#records.values()]
      .filter((r) => (filter.split === undefined || r.split === filter.split) && (filter.labelled === undefined || (r.label !== undefined) === filter.labelled))
      .sort((a, b) => naturalOrder(a.label ?? '', b.label ?? '') || (a.sha256 < b.sha256 ? -1 : 1));
  }

  /** Class names in the store in natural order (the default class index order students are trained with). */
  labels(): string[] {
    return [...new Set([...this.#records.values()].flatMap((r) => (r.label === undefined ? [] : [r.label])))].sort(naturalOrder);
  }

  async readBlob(sha256: string): Promise<Buffer> {
    return readFile(this.blobPath(sha256));
  }

  /**
   * Imports a folder: images in sub-folders are labelled with the first sub-folder's name
   * (`cat/x.jpg` -> 'cat', `cat/a/y.png` -> 'cat'); images directly in the folder are unlabeled.
   */
  async importFolder(folder: string, options: { label?: string } = {}): Promise<ImportReport> {
    const root = resolve(folder);
    const files = await this.#listFolder(root);
    const report = emptyReport();
    const candidates = files.filter((f) => {
      if (isImageName(f)) return true;
      report.ignored++;
      return false;
    });
    await this.#importFiles(candidates, report, async (path) => {
      const rel = relative(root, path).split(sep);
      const label = options.label ?? (rel.length > 1 ? rel[0] : undefined);
      return { label, provenance: { origin: 'folder', sourcePath: path, importedAt: new Date().toISOString() } };
    });
    return report;
  }

  /**
   * Imports field samples: `<sha256>.<ext>` images, each with a `<sha256>.json` sidecar. A sample
   * whose name is not the sha256 of its bytes, or whose sidecar is missing or invalid, is counted
   * as corrupt. Field samples are unlabeled until a teacher or a person labels them.
   */
  async importField(folder: string): Promise<ImportReport> {
    const root = resolve(folder);
    const files = await this.#listFolder(root);
    const report = emptyReport();
    const images = new Set(files.filter(isImageName).map((f) => f.slice(0, -extname(f).length)));
    const candidates = files.filter((f) => {
      if (isImageName(f)) return true;
      if (!(extname(f) === '.json' && images.has(f.slice(0, -5)))) report.ignored++;
      return false;
    });
    await this.#importFiles(candidates, report, async (path, sha256) => {
      const stem = basename(path, extname(path));
      if (stem.toLowerCase() !== sha256) throw new Error(`file name is not the sha256 of its bytes (${sha256})`);
      const sidecarPath = join(dirname(path), `${stem}.json`);
      let sidecar: FieldSidecar;
      try {
        sidecar = parseFieldSidecar(JSON.parse(await readFile(sidecarPath, 'utf8')));
      } catch (error) {
        throw new Error(`${basename(sidecarPath)}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing sidecar' : describe(error)}`);
      }
      const provenance: FieldProvenance = { origin: 'field', sourcePath: path, importedAt: new Date().toISOString(), ...sidecar };
      return { label: undefined, provenance };
    });
    return report;
  }

  async #listFolder(root: string): Promise<string[]> {
    try {
      if (!(await stat(root)).isDirectory()) throw new DatasetStoreError(root, 'is not a folder');
      return await walkFiles(root);
    } catch (error) {
      if (error instanceof DatasetStoreError) throw error;
      throw new DatasetStoreError(root, `cannot read folder: ${describe(error)}`, { cause: error });
    }
  }

  async #importFiles(
    files: readonly string[],
    report: ImportReport,
    describeSample: (path: string, sha256: string) => Promise<{ label?: string; provenance: Provenance }>,
  ): Promise<void> {
    const added: SampleRecord[] = [];
    const changed: SampleRecord[] = [];
    // Decoding is the slow part: a few images at once; records are applied in file order so an
    // import is deterministic (the first of two identical files wins).
    const checked = await mapLimit(files, 4, async (path) => {
      try {
        const bytes = await readFile(path);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const facts = await checkImage(bytes);
        const sample = await describeSample(path, sha256);
        return { ok: true as const, path, bytes, sha256, facts, ...sample };
      } catch (error) {
        return { ok: false as const, path, reason: describe(error) };
      }
    });
    for (const item of checked) {
      report.scanned++;
      if (!item.ok) {
        report.corrupt.push({ path: item.path, reason: item.reason });
        continue;
      }
      const existing = this.#records.get(item.sha256);
      if (existing) {
        report.duplicates++;
        if (item.label !== undefined && existing.label === undefined) {
          const updated = { ...existing, label: item.label };
          this.#records.set(item.sha256, updated);
          changed.push(updated);
          report.labelled++;
        } else if (item.label !== undefined && existing.label !== item.label) {
          report.labelConflicts.push({ path: item.path, reason: `stored as '${existing.label}', folder says '${item.label}'` });
        }
        continue;
      }
      const blob = this.blobPath(item.sha256);
      // Content-addressed: an existing blob already holds these bytes (e.g. an import that died before its index append).
      if (!(await stat(blob).then(() => true, () => false))) await writeFileAtomic(blob, item.bytes);
      const record: SampleRecord = {
        sha256: item.sha256, format: item.facts.format, bytes: item.bytes.length, width: item.facts.width, height: item.facts.height,
        ...(item.label !== undefined ? { label: item.label } : {}),
        split: splitOf(item.sha256, this.splits), provenance: item.provenance,
      };
      this.#records.set(item.sha256, record);
      added.push(record);
      report.added++;
      report.splits[record.split]++;
      if (record.label !== undefined) report.labels[record.label] = (report.labels[record.label] ?? 0) + 1;
    }
    await appendIndex(this.indexPath, [...added, ...changed]);
  }

  /** Sets (or clears) labels; appended to the index, last line wins. */
  async setLabels(labels: ReadonlyMap<string, string | undefined>): Promise<void> {
    const changed: SampleRecord[] = [];
    for (const [sha256, label] of labels) {
      const r = this.#records.get(sha256);
      if (!r) throw new DatasetStoreError(this.dir, `no sample ${sha256}`);
      const { label: _old, ...rest } = r;
      const updated: SampleRecord = label === undefined ? rest : { ...rest, label };
      this.#records.set(sha256, updated);
      changed.push(updated);
    }
    await appendIndex(this.indexPath, changed);
  }

  /** Rewrites the index with one line per sample (drops superseded lines and a torn tail). */
  async compact(): Promise<void> {
    await rewriteIndex(this.indexPath, this.records());
  }

  /** Copies samples out as `<out>/<label>/<sha256><ext>`; unlabeled samples go to `<out>/` itself. */
  async exportTo(out: string, options: { split?: Split } = {}): Promise<ExportReport> {
    const report: ExportReport = { exported: 0, labels: {}, unlabeled: 0 };
    for (const r of this.records({ split: options.split })) {
      if (r.label !== undefined && (r.label.includes('/') || r.label.includes('\\') || r.label.startsWith('.'))) {
        throw new DatasetStoreError(this.dir, `label ${JSON.stringify(r.label)} cannot be a folder name`);
      }
      const dir = r.label === undefined ? out : join(out, r.label);
      await mkdir(dir, { recursive: true });
      await copyFile(this.blobPath(r.sha256), join(dir, `${r.sha256}${extensionOf(r.format)}`));
      report.exported++;
      if (r.label === undefined) report.unlabeled++;
      else report.labels[r.label] = (report.labels[r.label] ?? 0) + 1;
    }
    return report;
  }
}
