// `edgeloop train`: supervised training of a student on a labelled store or class folders.
import { train } from '../trainer.js';
import { TrainingConfigError } from '../errors.js';
import { openDataSource } from './data-source.js';
import { checkpointOptions, datasetHash, finishFit, fitBatch, inputShapeOf, loadSplits, optimizerSpec, scoreHeldOut, studentPreprocessing } from './fit.js';
import type { FitOptions, FitResult } from './fit.js';
import { resolveStudent } from './student.js';

export interface TrainCommandOptions extends FitOptions {
  /** 'conv' | 'conv-small' | 'mobilenet' | path/to/student.onnx. */
  arch: string;
}

export async function trainCommand(options: TrainCommandOptions): Promise<FitResult> {
  const source = await openDataSource(options.data);
  try {
    const { store } = source;
    const classNames = options.classNames ?? store.labels();
    if (classNames.length < 2) throw new TrainingConfigError(`${options.data}: supervised training needs labelled samples of at least 2 classes (found ${classNames.length})`);
    const fileStudent = /\.onnx$/i.test(options.arch) ? await resolveStudent(options.arch, { inputShape: [1, 1, 1], classes: classNames.length }) : undefined;
    const preprocessing = studentPreprocessing(fileStudent, undefined, options.preprocessing);
    const model = fileStudent ?? (await resolveStudent(options.arch, { inputShape: inputShapeOf(preprocessing), classes: classNames.length, seed: options.seed }));
    const splits = await loadSplits(store, preprocessing, classNames, options.trainSplits ?? ['train'], true);
    const hash = datasetHash(splits.train.records.map((r) => r.sha256));
    const result = await train(model, {
      train: splits.train.dataset,
      validation: splits.val?.dataset,
      epochs: options.epochs ?? 10,
      batchSize: fitBatch(options.batchSize, splits.train.dataset.count),
      learningRate: options.learningRate ?? (options.optimizer === 'adam' ? 1e-3 : 0.05),
      optimizer: optimizerSpec(options.optimizer),
      schedule: { kind: 'cosine', warmupEpochs: 0.5 },
      seed: options.seed ?? 1,
      threads: options.threads,
      augment: options.augment,
      checkpoint: checkpointOptions(options, { command: 'train', arch: options.arch, dataset: hash, classNames }),
      reporter: options.reporter ?? 'console',
      signal: options.signal,
      metadata: { preprocessing, labels: classNames, task: 'classification', extra: { 'edgeloop.dataset': hash } },
    });
    const test = splits.test ? await scoreHeldOut(result.model, splits.test) : undefined;
    return await finishFit(result, options, { student: options.arch, classNames, preprocessing, splits, test, corrupt: source.imported?.corrupt.length ?? 0, datasetHash: hash });
  } finally {
    await source.close();
  }
}
