// The training loop: a gradient graph built once from the student (static batch), weights kept as
// Float32Arrays and fed each step, gradients applied in JS by the optimizer. Per-epoch shuffles
// and augmentation draws come from seeds derived from (seed, epoch), so a run resumed from a
// checkpoint replays the same batches. (Dropout masks are drawn inside onnxruntime and restart
// with the session, the one thing a resume does not reproduce bit for bit.)
import * as ort from 'onnxruntime-node';
import { buildTrainingGraph } from '@edgeloop/compiler';
import type { LossSpec, Model, TrainingGraph } from '@edgeloop/compiler';
import { augmentBatch, isIdentityAugment } from './augment.js';
import type { AugmentSpec } from './augment.js';
import { assertSameRun, hashArrays, loadCheckpoint, normalizeRunConfig, saveCheckpoint } from './checkpoint.js';
import type { CheckpointTensor } from './checkpoint.js';
import { sampleSize, validateDataset } from './dataset.js';
import type { Dataset } from './dataset.js';
import { DivergedError, TrainingConfigError } from './errors.js';
import { createSession, evaluate } from './evaluate.js';
import { exportInferenceModel } from './export.js';
import type { ExportMetadata } from './export.js';
import { createOptimizer } from './optimizers.js';
import type { OptimizerSpec, Parameter } from './optimizers.js';
import { consoleReporter, silentReporter } from './progress.js';
import type { EpochRecord, ProgressReporter } from './progress.js';
import { Rng } from './random.js';
import { learningRateAt } from './schedules.js';
import type { ScheduleSpec } from './schedules.js';
import { readWeights, weightsAsInputs } from './weights.js';

export type TrainLoss =
  | { kind: 'crossEntropy' }
  /** Hinton KD against `train.teacherLogits`: alpha * T^2 * KL + (1 - alpha) * CE(labels). */
  | { kind: 'distillation'; temperature: number; alpha: number }
  | { kind: 'mse' };

export interface TrainOptions {
  train: Dataset;
  validation?: Dataset;
  epochs: number;
  batchSize: number;
  learningRate: number;
  loss?: TrainLoss;
  optimizer?: OptimizerSpec;
  schedule?: ScheduleSpec;
  seed?: number;
  augment?: AugmentSpec;
  /** Trainable initializers (default: all float weights; BatchNorm running stats are state). */
  trainable?: string[];
  batchNorm?: 'train' | 'frozen';
  dropout?: 'mask' | 'identity';
  /**
   * Checkpoint file written every `everyEpochs` (default 1) and after the last epoch; resumed when
   * it exists (unless `resume: false`). It records the run's configuration (hyper-parameters, a hash
   * of the initial weights and of the data without teacher logits, plus `config`, e.g. the
   * architecture and the teacher's id): a checkpoint of
   * another configuration is refused with a CheckpointError instead of being mixed into this run.
   */
  checkpoint?: { path: string; everyEpochs?: number; resume?: boolean; config?: Record<string, unknown> };
  /** Stops after `patience` epochs without validation improvement and returns the best weights. */
  earlyStopping?: { patience: number; minDelta?: number; metric?: 'loss' | 'accuracy' };
  reporter?: ProgressReporter | 'console' | 'silent';
  /** Model input / output names (default: first graph input / output). */
  input?: string;
  output?: string;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  metadata?: ExportMetadata;
  signal?: AbortSignal;
  /** Stop after this many epochs of this call (the run's schedule still spans `epochs`); for tests of resume. */
  maxEpochsThisRun?: number;
}

export interface TrainResult {
  /** Inference model with the trained (or best) weights and metadata. */
  model: Model;
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Epoch the run continued from when it resumed a checkpoint. */
  resumedFromEpoch?: number;
  /** Training samples per second over the epochs run in this call (steps only, no evaluation). */
  samplesPerSecond: number;
  trainingGraph: TrainingGraph;
}

function lossSpec(loss: TrainLoss, output: string): LossSpec {
  switch (loss.kind) {
    case 'crossEntropy': return { kind: 'softmaxCrossEntropy', logits: output };
    case 'distillation': return { kind: 'distillation', logits: output, temperature: loss.temperature, alpha: loss.alpha };
    case 'mse': return { kind: 'mse', output };
  }
}

function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;
}

function scoreOf(record: EpochRecord, metric: 'loss' | 'accuracy'): number {
  return metric === 'loss' ? -(record.valLoss ?? record.trainLoss) : (record.valAccuracy ?? record.trainAccuracy ?? 0);
}

export async function train(model: Model, options: TrainOptions): Promise<TrainResult> {
  const loss = options.loss ?? { kind: 'crossEntropy' };
  const { teacherWidth } = validateDataset(options.train);
  if (loss.kind === 'distillation' && teacherWidth === 0) throw new TrainingConfigError('distillation needs train.teacherLogits');
  if (loss.kind !== 'mse' && !options.train.labels && !(loss.kind === 'distillation' && loss.alpha === 1)) {
    throw new TrainingConfigError('classification losses need train.labels');
  }
  const batch = options.batchSize;
  const stepsPerEpoch = Math.floor(options.train.count / batch);
  if (!(batch > 0) || stepsPerEpoch === 0) throw new TrainingConfigError(`batch size ${batch} does not fit ${options.train.count} samples`);
  const initializers = new Set(model.graph.initializers.map((t) => t.name));
  const input = options.input ?? model.graph.inputs.find((v) => !initializers.has(v.name))?.name;
  const output = options.output ?? model.graph.outputs[0]?.name;
  if (!input || !output) throw new TrainingConfigError('model has no input or output');
  const seed = options.seed ?? 0;
  const reporter = options.reporter === 'silent' ? silentReporter : options.reporter === 'console' || !options.reporter ? consoleReporter() : options.reporter;

  const withLabels = loss.kind !== 'mse' && options.train.labels !== undefined;
  const training = buildTrainingGraph(model, {
    loss: lossSpec(loss, output),
    batchSize: batch,
    inputShapes: { [input]: [batch, ...options.train.sampleShape] },
    trainable: options.trainable,
    batchNorm: options.batchNorm,
    dropout: options.dropout,
    seed,
    extraOutputs: withLabels ? [output] : [],
  });
  const weights = readWeights(model, training.trainable.map((p) => p.name));
  const state = readWeights(model, training.stateUpdates.map((s) => s.input));
  const params: Parameter[] = training.trainable.map((p) => ({ name: p.name, shape: p.shape, values: weights.get(p.name) as Float32Array }));
  const optimizer = createOptimizer(options.optimizer ?? { kind: 'sgd', momentum: 0.9 });
  const schedule = options.schedule ?? { kind: 'cosine' };

  let startEpoch = 0;
  let history: EpochRecord[] = [];
  let best = { epoch: -1, score: -Infinity, weights: undefined as Map<string, Float32Array> | undefined };
  let resumedFromEpoch: number | undefined;
  const checkpointPath = options.checkpoint?.path;
  const augmentSpec = isIdentityAugment(options.augment) ? undefined : options.augment;
  // Teacher logits stay out of the data hash: a teacher recomputed on resume (no cache, an HTTP
  // service) may differ in the last bits. Callers identify the teacher in `checkpoint.config`.
  const hashData = (d: Dataset): string => hashArrays([['shape', Int32Array.from(d.sampleShape)], ['inputs', d.inputs], ['labels', d.labels], ['targets', d.targets]]);
  const runConfig = checkpointPath
    ? normalizeRunConfig({
      epochs: options.epochs, batchSize: batch, learningRate: options.learningRate, loss, optimizer: options.optimizer ?? { kind: 'sgd', momentum: 0.9 },
      schedule: options.schedule ?? { kind: 'cosine' }, seed, augment: augmentSpec, trainable: options.trainable, batchNorm: options.batchNorm, dropout: options.dropout,
      earlyStopping: options.earlyStopping, input, output,
      model: hashArrays([...weights, ...state]), data: hashData(options.train), validation: options.validation ? hashData(options.validation) : undefined,
      ...options.checkpoint?.config,
    })
    : undefined;
  if (checkpointPath && runConfig && options.checkpoint?.resume !== false) {
    const saved = await loadCheckpoint(checkpointPath);
    if (saved) {
      assertSameRun(checkpointPath, saved.meta.config, runConfig);
      const byName = new Map(saved.tensors.map((t) => [t.name, t.values]));
      const restore = (target: Map<string, Float32Array>, prefix: string): void => {
        for (const [name, values] of target) {
          const v = byName.get(`${prefix}${name}`);
          if (!v || v.length !== values.length) throw new TrainingConfigError(`checkpoint ${checkpointPath} does not fit this model (${name})`);
          values.set(v);
        }
      };
      restore(weights, 'param:');
      restore(state, 'state:');
      const buffers: Record<string, Float32Array[]> = {};
      for (const t of saved.tensors) {
        const m = /^opt:(\d+):(.*)$/.exec(t.name);
        if (m) (buffers[m[2]] ??= [])[Number(m[1])] = t.values;
      }
      optimizer.load({ step: Number(saved.meta.optimizerStep ?? 0), buffers });
      startEpoch = Number(saved.meta.nextEpoch ?? 0);
      history = (saved.meta.history as EpochRecord[] | undefined) ?? [];
      const bestTensors = saved.tensors.filter((t) => t.name.startsWith('best:'));
      best = {
        epoch: Number(saved.meta.bestEpoch ?? -1),
        score: Number(saved.meta.bestScore ?? -Infinity),
        weights: bestTensors.length > 0 ? new Map(bestTensors.map((t) => [t.name.slice(5), t.values])) : undefined,
      };
      resumedFromEpoch = startEpoch;
      reporter.message?.(`resumed from epoch ${startEpoch} of ${options.epochs} (checkpoint ${checkpointPath})`);
    }
  }

  const session = await createSession(training.model, options.threads);
  const evalModel = weightsAsInputs(model, [...weights.keys(), ...state.keys()]);
  const evalSession = options.validation ? await createSession(evalModel, options.threads) : undefined;
  const weightFeeds = (): Record<string, ort.Tensor> => {
    const feeds: Record<string, ort.Tensor> = {};
    for (const p of training.trainable) feeds[p.name] = new ort.Tensor('float32', weights.get(p.name) as Float32Array, p.shape);
    for (const [name, values] of state) feeds[name] = new ort.Tensor('float32', values, [values.length]);
    return feeds;
  };

  const data = options.train;
  const size = sampleSize(data);
  const xBuffer = new Float32Array(batch * size);
  const labelBuffer = new BigInt64Array(batch);
  const teacherBuffer = new Float32Array(batch * teacherWidth);
  const targetWidth = data.targets ? data.targets.length / data.count : 0;
  const targetBuffer = new Float32Array(batch * targetWidth);
  const augment = augmentSpec;
  const metric = options.earlyStopping?.metric ?? 'loss';
  let stoppedEarly = false;
  let trainSeconds = 0;
  let trainSamples = 0;
  const lastEpoch = Math.min(options.epochs, startEpoch + (options.maxEpochsThisRun ?? Infinity));
  try {
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const rng = new Rng(epochSeed(seed, epoch));
      const order = rng.shuffle(Int32Array.from({ length: data.count }, (_, i) => i));
      const augmentRng = rng.fork();
      let lossSum = 0;
      let correct = 0;
      let lr = 0;
      const started = process.hrtime.bigint();
      for (let step = 0; step < stepsPerEpoch; step++) {
        if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
        for (let k = 0; k < batch; k++) {
          const i = order[step * batch + k];
          xBuffer.set(data.inputs.subarray(i * size, (i + 1) * size), k * size);
          if (data.labels) labelBuffer[k] = BigInt(data.labels[i]);
          if (teacherWidth && data.teacherLogits) teacherBuffer.set(data.teacherLogits.subarray(i * teacherWidth, (i + 1) * teacherWidth), k * teacherWidth);
          if (targetWidth && data.targets) targetBuffer.set(data.targets.subarray(i * targetWidth, (i + 1) * targetWidth), k * targetWidth);
        }
        if (augment) augmentBatch(xBuffer, batch, data.sampleShape, augment, augmentRng);
        const feeds = weightFeeds();
        for (const v of training.dataInputs) {
          if (v.name === input) feeds[v.name] = new ort.Tensor('float32', xBuffer, v.shape);
          else if (v.name === 'labels') feeds[v.name] = new ort.Tensor('int64', labelBuffer, v.shape);
          else if (v.name === 'teacher_logits') feeds[v.name] = new ort.Tensor('float32', teacherBuffer, v.shape);
          else if (v.name === 'target') feeds[v.name] = new ort.Tensor('float32', targetBuffer, v.shape);
        }
        const out = await session.run(feeds);
        const stepLoss = (out[training.lossName].data as Float32Array)[0];
        const globalStep = epoch * stepsPerEpoch + step;
        if (!Number.isFinite(stepLoss)) throw new DivergedError(globalStep, stepLoss);
        const grads = new Map<string, Float32Array>();
        for (const p of training.trainable) grads.set(p.name, out[training.gradientNames[p.name]].data as Float32Array);
        lr = learningRateAt(schedule, options.learningRate, epoch + step / stepsPerEpoch, options.epochs);
        optimizer.step(params, grads, lr);
        for (const s of training.stateUpdates) (state.get(s.input) as Float32Array).set(out[s.output].data as Float32Array);
        lossSum += stepLoss;
        if (withLabels && data.labels) {
          const logits = out[output].data as Float32Array;
          const classes = logits.length / batch;
          for (let k = 0; k < batch; k++) {
            let arg = 0;
            for (let c = 1; c < classes; c++) if (logits[k * classes + c] > logits[k * classes + arg]) arg = c;
            if (BigInt(arg) === labelBuffer[k]) correct++;
          }
        }
        const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
        reporter.step?.({ epoch, epochs: options.epochs, step, stepsPerEpoch, loss: stepLoss, samplesPerSecond: ((step + 1) * batch) / elapsed, lr });
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      trainSeconds += seconds;
      trainSamples += stepsPerEpoch * batch;
      const record: EpochRecord = {
        epoch, lr, trainLoss: lossSum / stepsPerEpoch, samplesPerSecond: (stepsPerEpoch * batch) / seconds, seconds,
        ...(withLabels ? { trainAccuracy: correct / (stepsPerEpoch * batch) } : {}),
      };
      if (options.validation && evalSession) {
        const v = await evaluate(evalModel, options.validation, { session: evalSession, input, output, extraFeeds: weightFeeds() });
        record.valLoss = v.loss;
        record.valAccuracy = v.accuracy;
      }
      history.push(record);
      reporter.epoch?.(record);
      const score = scoreOf(record, metric);
      if (score > best.score + (options.earlyStopping?.minDelta ?? 0)) {
        best = { epoch, score, weights: options.earlyStopping ? new Map([...weights, ...state].map(([k, v]) => [k, Float32Array.from(v)])) : undefined };
      }
      const stop = options.earlyStopping !== undefined && epoch - best.epoch >= options.earlyStopping.patience;
      const every = options.checkpoint?.everyEpochs ?? 1;
      if (checkpointPath && ((epoch + 1) % every === 0 || stop || epoch + 1 === lastEpoch)) {
        const tensors: CheckpointTensor[] = [
          ...[...weights].map(([name, values]) => ({ name: `param:${name}`, values })),
          ...[...state].map(([name, values]) => ({ name: `state:${name}`, values })),
          ...Object.entries(optimizer.state().buffers).flatMap(([name, list]) => list.map((values, i) => ({ name: `opt:${i}:${name}`, values }))),
          ...[...(best.weights ?? [])].map(([name, values]) => ({ name: `best:${name}`, values })),
        ];
        const meta = { nextEpoch: epoch + 1, optimizerStep: optimizer.state().step, history, bestEpoch: best.epoch, bestScore: best.score, seed, config: runConfig };
        await saveCheckpoint(checkpointPath, { meta, tensors });
      }
      if (stop) {
        stoppedEarly = true;
        reporter.message?.(`early stopping after epoch ${epoch + 1}; best epoch ${best.epoch + 1}`);
        break;
      }
    }
  } finally {
    await session.release();
    await evalSession?.release();
  }
  const finalWeights = best.weights && options.earlyStopping ? best.weights : new Map([...weights, ...state]);
  return {
    model: exportInferenceModel(model, finalWeights, options.metadata),
    history,
    bestEpoch: best.epoch,
    stoppedEarly,
    resumedFromEpoch,
    samplesPerSecond: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
    trainingGraph: training,
  };
}
