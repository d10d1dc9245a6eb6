// The trained student as an inference ONNX model: trained weights and running statistics written
// back as initializers (BatchNormalization stays in inference mode; Dropout is identity at
// inference), plus the metadata compile and bundle read (packaging/model-io.ts METADATA_KEYS).
import { METADATA_KEYS } from '@edgeloop/compiler';
import type { Model, StringEntry } from '@edgeloop/compiler';
import type { Preprocessing, Task } from '@edgeloop/bundle';
import { withWeights } from './weights.js';

export interface ExportMetadata {
  preprocessing?: Partial<Preprocessing>;
  labels?: string[];
  task?: Task;
  /** More metadata_props entries (e.g. provenance). */
  extra?: Record<string, string>;
}

export function exportInferenceModel(model: Model, weights: ReadonlyMap<string, Float32Array>, metadata: ExportMetadata = {}): Model {
  const updated = withWeights(model, weights);
  const entries = new Map<string, string>(model.metadataProps.map((e) => [e.key, e.value]));
  if (metadata.preprocessing) entries.set(METADATA_KEYS.preprocessing, JSON.stringify(metadata.preprocessing));
  if (metadata.labels) entries.set(METADATA_KEYS.labels, JSON.stringify(metadata.labels));
  if (metadata.task) entries.set(METADATA_KEYS.task, metadata.task);
  for (const [k, v] of Object.entries(metadata.extra ?? {})) entries.set(k, v);
  const metadataProps: StringEntry[] = [...entries].map(([key, value]) => ({ key, value }));
  return { ...updated, metadataProps, producerName: 'edgeloop', docString: model.docString || 'trained by edgeloop distill' };
}
