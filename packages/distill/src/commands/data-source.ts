// `--data` for train / distill / label: a dataset store, or a plain folder of images (class
// sub-folders or flat), imported into a temporary store for the run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetStore } from '../store/dataset-store.js';
import type { ImportReport } from '../store/dataset-store.js';

export interface DataSource {
  store: DatasetStore;
  /** True when `path` was a plain folder imported for this run. */
  temporary: boolean;
  /** The import of a plain folder (corrupt files counted there). */
  imported?: ImportReport;
  close(): Promise<void>;
}

export async function openDataSource(path: string): Promise<DataSource> {
  if (await DatasetStore.isStore(path)) return { store: await DatasetStore.open(path), temporary: false, close: async () => undefined };
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-data-'));
  try {
    const store = await DatasetStore.open(dir, { create: true });
    const imported = await store.importFolder(path);
    return { store, temporary: true, imported, close: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
