// A teacher that is an ONNX model run by onnxruntime-node. Images are preprocessed exactly as the
// device runtime would (the model's edgeloop.preprocessing metadata, or options), then run in
// batches when the batch dim is dynamic, one at a time when the model fixes it to 1.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { concreteShape, decodeModel, encodeModel, modelIo, readEdgeloopMetadata, resolvePreprocessing } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import type { Preprocessing } from '@edgeloop/bundle';
import { Preprocessor } from '@edgeloop/runtime';
import { TeacherError, TeacherOutputError } from '../errors.js';
import type { PredictOptions, Teacher, TeacherPrediction, TeacherSample } from './teacher.js';

export interface OnnxTeacherOptions {
  /** Overrides (or supplies, for models without metadata) how images become the input tensor. */
  preprocessing?: Partial<Preprocessing>;
  /** What the first output holds (default: 'probabilities' when it comes from a Softmax node, else 'logits'). */
  outputKind?: 'logits' | 'probabilities';
  /** Samples per onnxruntime run (default 64). */
  batchSize?: number;
  threads?: number;
  labels?: string[];
  /** Shown in progress lines and errors (default: the path, or 'onnx model'). */
  description?: string;
}

function producesSoftmax(model: Model, output: string): boolean {
  const node = model.graph.nodes.find((n) => n.outputs.includes(output));
  return node?.opType === 'Softmax';
}

export class OnnxTeacher implements Teacher {
  readonly id: string;
  readonly description: string;
  readonly numClasses?: number;
  readonly labels?: readonly string[];
  readonly accepts = 'either' as const;
  /** Preprocessing for image samples; undefined when the input is not an image (tensors only). */
  readonly preprocessing?: Preprocessing;
  /** Shape of one sample, without the batch dim. */
  readonly sampleShape: number[];
  readonly outputKind: 'logits' | 'probabilities';
  readonly #session: ort.InferenceSession;
  readonly #input: string;
  readonly #output: string;
  readonly #batchSize: number;
  readonly #preprocessor?: Preprocessor;

  private constructor(session: ort.InferenceSession, model: Model, id: string, options: OnnxTeacherOptions) {
    this.#session = session;
    const io = modelIo(model);
    const input = io.inputs[0];
    const output = io.outputs[0];
    if (!input || !output) throw new TeacherError('teacher model has no input or output');
    this.#input = input.name;
    this.#output = output.name;
    this.id = id;
    this.description = options.description ?? 'onnx model';
    const meta = readEdgeloopMetadata(model);
    this.labels = options.labels ?? meta.labels;
    const last = output.shape[output.shape.length - 1];
    this.numClasses = typeof last === 'number' && last > 0 ? last : this.labels?.length;
    this.outputKind = options.outputKind ?? (producesSoftmax(model, output.name) ? 'probabilities' : 'logits');
    const fixedBatch = typeof input.shape[0] === 'number' && input.shape[0] > 0 ? input.shape[0] : undefined;
    if (fixedBatch !== undefined && fixedBatch !== 1) throw new TeacherError(`teacher model input ${input.name} fixes the batch to ${fixedBatch}; use 1 or a dynamic batch`);
    this.#batchSize = fixedBatch === 1 ? 1 : Math.max(1, options.batchSize ?? 64);
    const concrete = concreteShape(input.shape);
    this.preprocessing = resolvePreprocessing(input, concrete, meta.preprocessing, options.preprocessing);
    if (this.preprocessing) {
      const p = this.preprocessing;
      const channels = p.colorOrder === 'GRAY' ? 1 : 3;
      this.sampleShape = p.layout === 'NCHW' ? [channels, p.height, p.width] : [p.height, p.width, channels];
      this.#preprocessor = new Preprocessor(p);
    } else {
      this.sampleShape = concrete.slice(1);
    }
  }

  /** Opens a model file (or bytes, or an IR model); the id is the sha256 of the serialized model plus any preprocessing override. */
  static async open(source: string | Uint8Array | Model, options: OnnxTeacherOptions = {}): Promise<OnnxTeacher> {
    let bytes: Uint8Array;
    let model: Model;
    try {
      if (typeof source === 'string') bytes = await readFile(source);
      else if (source instanceof Uint8Array) bytes = source;
      else bytes = encodeModel(source);
      model = typeof source === 'object' && !(source instanceof Uint8Array) ? source : decodeModel(bytes);
    } catch (error) {
      const what = typeof source === 'string' ? ` ${source}` : '';
      throw new TeacherError(`cannot read teacher model${what}: ${(error as Error).message}`, { cause: error });
    }
    const hash = createHash('sha256').update(bytes);
    if (options.preprocessing) hash.update(JSON.stringify(options.preprocessing));
    if (options.outputKind) hash.update(options.outputKind);
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    });
    try {
      return new OnnxTeacher(session, model, hash.digest('hex'), {
        ...options,
        description: options.description ?? (typeof source === 'string' ? source : undefined),
      });
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** The input tensor of one sample: its own `tensor`, else its image preprocessed. */
  async toTensor(sample: TeacherSample): Promise<Float32Array> {
    const size = this.sampleShape.reduce((a, b) => a * b, 1);
    if (sample.tensor) {
      if (sample.tensor.length !== size) {
        throw new TeacherError(`teacher ${this.description}: sample tensor has ${sample.tensor.length} values, the model takes [${this.sampleShape.join(', ')}]`);
      }
      return sample.tensor;
    }
    if (!sample.image) throw new TeacherError(`teacher ${this.description}: sample ${sample.sha256 ?? ''} has neither image nor tensor`);
    if (!this.#preprocessor || this.preprocessing?.dtype !== 'float32') {
      throw new TeacherError(`teacher ${this.description}: the model input is not a float32 image; pass tensors or --preprocessing options`);
    }
    const { tensor } = await this.#preprocessor.run(sample.image);
    return tensor.data as Float32Array;
  }

  async predict(batch: readonly TeacherSample[], options: PredictOptions = {}): Promise<TeacherPrediction> {
    const size = this.sampleShape.reduce((a, b) => a * b, 1);
    let values = new Float32Array(0);
    let classes = 0;
    for (let start = 0; start < batch.length; start += this.#batchSize) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const chunk = batch.slice(start, start + this.#batchSize);
      const x = new Float32Array(chunk.length * size);
      for (let i = 0; i < chunk.length; i++) x.set(await this.toTensor(chunk[i]), i * size);
      const result = await this.#session.run({ [this.#input]: new ort.Tensor('float32', x, [chunk.length, ...this.sampleShape]) }, [this.#output]);
      const out = result[this.#output];
      const width = out.dims.slice(1).reduce((a, b) => a * b, 1);
      if (classes === 0) {
        classes = width;
        values = new Float32Array(batch.length * classes);
      } else if (width !== classes) {
        throw new TeacherOutputError(this.id, `output width changed from ${classes} to ${width}`, this.description);
      }
      values.set(out.data as Float32Array, start * classes);
    }
    return { kind: this.outputKind, classes, values };
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
