// A store split as the trainer's in-memory Dataset: each image preprocessed exactly as the device
// runtime will (the runtime's Preprocessor: same resize, colour order, mean/std, layout), labels
// as indices into a class list.
import type { Preprocessing } from '@edgeloop/bundle';
import { Preprocessor } from '@edgeloop/runtime';
import type { Dataset } from '../dataset.js';
import { DatasetStoreError } from '../errors.js';
import type { TeacherSample } from '../teachers/teacher.js';
import type { DatasetStore } from './dataset-store.js';
import { mapLimit } from './images.js';
import type { SampleRecord, Split } from './records.js';

export interface LoadStoreOptions {
  /** One split, several, or all samples (default all). */
  split?: Split | readonly Split[];
  preprocessing: Preprocessing;
  /** Class order; default the store's labels sorted. A sample whose label is not listed is an error. */
  classNames?: readonly string[];
  /** Keep only labelled samples (default false: unlabeled samples load with label -1). */
  labelledOnly?: boolean;
}

export interface LoadedStoreData {
  /** `labels` is set when every sample is labelled; otherwise see `labelIndices` (-1 = unlabeled). */
  dataset: Dataset;
  labelIndices: Int32Array;
  classNames: string[];
  records: SampleRecord[];
  /** The encoded images with their sha256, for teachers that preprocess themselves or take bytes. */
  samples: TeacherSample[];
}

export function sampleShapeOf(p: Preprocessing): number[] {
  const channels = p.colorOrder === 'GRAY' ? 1 : 3;
  return p.layout === 'NCHW' ? [channels, p.height, p.width] : [p.height, p.width, channels];
}

export async function loadStoreDataset(store: DatasetStore, options: LoadStoreOptions): Promise<LoadedStoreData> {
  if (options.preprocessing.dtype !== 'float32') throw new DatasetStoreError(store.dir, 'training needs float32 preprocessing');
  const splits = options.split === undefined ? undefined : new Set(typeof options.split === 'string' ? [options.split] : options.split);
  const records = store.records().filter((r) => (!splits || splits.has(r.split)) && (!options.labelledOnly || r.label !== undefined));
  const classNames = [...(options.classNames ?? store.labels())];
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  const shape = sampleShapeOf(options.preprocessing);
  const size = shape.reduce((a, b) => a * b, 1);
  const inputs = new Float32Array(records.length * size);
  const labelIndices = new Int32Array(records.length).fill(-1);
  const preprocessor = new Preprocessor(options.preprocessing);
  const samples: TeacherSample[] = new Array<TeacherSample>(records.length);
  await mapLimit(records, 4, async (r, i) => {
    const image = await store.readBlob(r.sha256);
    samples[i] = { image, sha256: r.sha256 };
    await preprocessor.run(image, { out: inputs.subarray(i * size, (i + 1) * size) });
    if (r.label !== undefined) {
      const index = classIndex.get(r.label);
      if (index === undefined) throw new DatasetStoreError(store.dir, `sample ${r.sha256} has label '${r.label}', not one of the ${classNames.length} classes [${classNames.join(', ')}]`);
      labelIndices[i] = index;
    }
  });
  const allLabelled = records.length > 0 && labelIndices.every((l) => l >= 0);
  const dataset: Dataset = { inputs, sampleShape: shape, count: records.length, ...(allLabelled ? { labels: labelIndices } : {}) };
  return { dataset, labelIndices, classNames, records, samples };
}
