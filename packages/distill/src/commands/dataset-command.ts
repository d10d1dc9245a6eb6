// `edgeloop dataset import|export`: folders in and out of a dataset store.
import { DatasetStore } from '../store/dataset-store.js';
import type { ExportReport, ImportReport } from '../store/dataset-store.js';
import type { Split, SplitRatios } from '../store/records.js';

export interface DatasetImportOptions {
  folder: string;
  store: string;
  /** The folder holds field samples (`<sha256>.jpg` + `<sha256>.json`), not class folders. */
  field?: boolean;
  /** Label every imported image with this class (a flat folder of one class). */
  label?: string;
  /** Split ratios of a new store (default 0.8 / 0.1 / 0.1). */
  splits?: SplitRatios;
}

export interface DatasetImportResult extends ImportReport {
  store: string;
  total: number;
  storeLabels: string[];
}

export async function datasetImportCommand(options: DatasetImportOptions): Promise<DatasetImportResult> {
  const store = await DatasetStore.open(options.store, { create: true, splits: options.splits });
  const report = options.field ? await store.importField(options.folder) : await store.importFolder(options.folder, { label: options.label });
  return { store: store.dir, ...report, total: store.size, storeLabels: store.labels() };
}

export interface DatasetExportOptions {
  store: string;
  out: string;
  split?: Split;
}

export async function datasetExportCommand(options: DatasetExportOptions): Promise<ExportReport & { store: string; out: string }> {
  const store = await DatasetStore.open(options.store);
  return { store: store.dir, out: options.out, ...(await store.exportTo(options.out, { split: options.split })) };
}
