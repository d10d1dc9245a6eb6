// What the dataset store records per sample (docs/datasets.md): content address, image facts,
// label, split and provenance. Splits come from the hash, so a sample keeps its split for life
// and two machines importing the same images agree without talking.

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface SplitRatios {
  train: number;
  val: number;
  test: number;
}

export const DEFAULT_SPLIT_RATIOS: SplitRatios = { train: 0.8, val: 0.1, test: 0.1 };

export interface FolderProvenance {
  origin: 'folder';
  /** Path the image was imported from (absolute). */
  sourcePath: string;
  importedAt: string;
}

/** A field sample as a device sent it (the OTA server's `edgeloop samples export`, docs/datasets.md#field-samples). */
export interface FieldProvenance {
  origin: 'field';
  sourcePath: string;
  importedAt: string;
  deviceId: string;
  /** Bundle version on the device; null when unknown. */
  modelVersion: string | number | null;
  /** Why the sampler chose the frame, comma-separated ('low-confidence,small-margin'); may be ''. */
  reason: string;
  capturedAt: string;
  /** The device model's prediction, as the sidecar had it. */
  prediction?: unknown;
}

export type Provenance = FolderProvenance | FieldProvenance;

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heif' | 'svg' | 'other';

export interface SampleRecord {
  sha256: string;
  format: ImageFormat;
  bytes: number;
  width: number;
  height: number;
  /** Class name; absent for unlabeled samples (flat folders, field samples not yet relabelled). */
  label?: string;
  split: Split;
  provenance: Provenance;
}

export function validateRatios(r: SplitRatios): SplitRatios {
  const values = [r.train, r.val, r.test];
  const total = values.reduce((a, b) => a + b, 0);
  if (values.some((v) => !(v >= 0)) || !(total > 0)) throw new RangeError(`split ratios ${JSON.stringify(r)} must be non-negative with a positive sum`);
  return { train: r.train / total, val: r.val / total, test: r.test / total };
}

/** The split of a sample: the first 52 bits of its sha256 as a fraction in [0, 1), against the cumulative ratios. */
export function splitOf(sha256: string, ratios: SplitRatios): Split {
  const u = parseInt(sha256.slice(0, 13), 16) / 2 ** 52;
  if (u < ratios.train) return 'train';
  if (u < ratios.train + ratios.val) return 'val';
  return ratios.test > 0 || ratios.val === 0 ? 'test' : 'val';
}

/** File extension for a format (export names files `<sha256><ext>`). */
export function extensionOf(format: ImageFormat): string {
  switch (format) {
    case 'jpeg': return '.jpg';
    case 'tiff': return '.tif';
    case 'other': return '.img';
    default: return `.${format}`;
  }
}
