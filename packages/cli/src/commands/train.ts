import type { Argv, CommandModule } from 'yargs';
import { trainCommand } from '@edgeloop/distill';
import type { FitOptions, FitResult } from '@edgeloop/distill';
import type { Preprocessing } from '@edgeloop/bundle';
import { emit, UsageError } from '../output.js';

// Flags `train` and `distill` share: the data, the schedule, and how images become the input.
export interface FitFlags {
  data: string;
  output: string;
  epochs: number;
  'batch-size': number;
  lr?: number;
  optimizer: 'sgd' | 'adam';
  seed: number;
  threads?: number;
  size?: string;
  color?: 'GRAY' | 'RGB' | 'BGR';
  mean?: string;
  std?: string;
  scale?: number;
  resize?: 'stretch' | 'letterbox' | 'center-crop';
  labels?: string;
  'train-on': string;
  shift?: number;
  rotate?: number;
  checkpoint?: string;
  'checkpoint-every': number;
  'keep-checkpoint': boolean;
  json: boolean;
}

export function fitOptions<T>(y: Argv<T>): Argv<T & FitFlags> {
  return y
    .option('data', { alias: 'd', type: 'string', demandOption: true, describe: 'Dataset store, or a folder of images (class sub-folders)' })
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Trained model (.onnx)' })
    .option('epochs', { type: 'number', default: 10, describe: 'Training epochs' })
    .option('batch-size', { type: 'number', default: 64, describe: 'Samples per step (capped at the training set size)' })
    .option('lr', { type: 'number', describe: 'Learning rate (default 0.05 for SGD, 0.001 for Adam; cosine schedule)' })
    .option('optimizer', { choices: ['sgd', 'adam'] as const, default: 'sgd' as const, describe: 'Optimizer' })
    .option('seed', { type: 'number', default: 1, describe: 'Seed of weights, shuffles and augmentation' })
    .option('threads', { type: 'number', describe: 'onnxruntime threads' })
    .option('train-on', { type: 'string', default: 'train', describe: 'Store splits to train on, e.g. train or train,val' })
    .option('labels', { type: 'string', describe: 'Class names in output order, comma-separated (default: teacher labels, else the data\'s)' })
    .option('shift', { type: 'number', describe: 'Augmentation: random shift up to this many pixels' })
    .option('rotate', { type: 'number', describe: 'Augmentation: random rotation up to this many degrees' })
    .option('size', { type: 'string', describe: 'Student input size: 28 or WIDTHxHEIGHT (default: the teacher\'s or the student model\'s)' })
    .option('color', { choices: ['GRAY', 'RGB', 'BGR'] as const, describe: 'Student input colour order' })
    .option('mean', { type: 'string', describe: 'Per-channel mean after scaling, e.g. 0.1307 or 0.485,0.456,0.406' })
    .option('std', { type: 'string', describe: 'Per-channel std after scaling' })
    .option('scale', { type: 'number', describe: 'Pixel scale before mean/std (default 1/255)' })
    .option('resize', { choices: ['stretch', 'letterbox', 'center-crop'] as const, describe: 'How images are fitted to the input size' })
    .option('checkpoint', { type: 'string', describe: 'Checkpoint file: written as training goes; if it exists and fits this run (same model, data and hyper-parameters) the run resumes from it, else it is refused. Removed once the model is written' })
    .option('checkpoint-every', { type: 'number', default: 1, describe: 'Write the checkpoint every this many epochs (and after the last)' })
    .option('keep-checkpoint', { type: 'boolean', default: false, describe: 'Keep the checkpoint file after a successful run' })
    .option('json', { type: 'boolean', default: false })
    .group(['size', 'color', 'mean', 'std', 'scale', 'resize'], 'Student input:')
    .group(['checkpoint', 'checkpoint-every', 'keep-checkpoint'], 'Checkpoints (resume after a crash or kill):') as Argv<T & FitFlags>;
}

function numbers(flag: string, value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.length > 3 || list.some((n) => !Number.isFinite(n))) throw new UsageError(`--${flag} takes 1 to 3 comma-separated numbers, got ${JSON.stringify(value)}`);
  return list;
}

export function parseFitFlags(args: FitFlags): FitOptions {
  const pre: Partial<Preprocessing> = {};
  if (args.size !== undefined) {
    const m = /^(\d+)(?:x(\d+))?$/.exec(args.size.trim());
    if (!m) throw new UsageError(`--size takes N or WIDTHxHEIGHT, got ${JSON.stringify(args.size)}`);
    pre.width = Number(m[1]);
    pre.height = Number(m[2] ?? m[1]);
  }
  if (args.color) pre.colorOrder = args.color;
  if (args.mean !== undefined) pre.mean = numbers('mean', args.mean);
  if (args.std !== undefined) {
    pre.std = numbers('std', args.std);
    if (pre.std.some((s) => s <= 0)) throw new UsageError('--std values must be positive');
  }
  if (args.scale !== undefined) pre.scale = args.scale;
  if (args.resize) pre.resize = args.resize;
  const splits = args['train-on'].split(',').map((s) => s.trim());
  for (const s of splits) if (s !== 'train' && s !== 'val' && s !== 'test') throw new UsageError(`--train-on takes train, val and test, got ${JSON.stringify(s)}`);
  if (!(args.epochs >= 1) || !Number.isInteger(args.epochs)) throw new UsageError('--epochs must be a positive integer');
  if (!(args['batch-size'] >= 1) || !Number.isInteger(args['batch-size'])) throw new UsageError('--batch-size must be a positive integer');
  if (!(args['checkpoint-every'] >= 1) || !Number.isInteger(args['checkpoint-every'])) throw new UsageError('--checkpoint-every must be a positive integer');
  if (args.checkpoint !== undefined && args.checkpoint.trim() === '') throw new UsageError('--checkpoint needs a file path');
  return {
    data: args.data,
    output: args.output,
    epochs: args.epochs,
    batchSize: args['batch-size'],
    learningRate: args.lr,
    optimizer: args.optimizer,
    seed: args.seed,
    threads: args.threads,
    preprocessing: Object.keys(pre).length > 0 ? pre : undefined,
    classNames: args.labels?.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    trainSplits: splits as ('train' | 'val' | 'test')[],
    augment: args.shift || args.rotate ? { shift: args.shift, rotate: args.rotate } : undefined,
    checkpoint: args.checkpoint,
    checkpointEvery: args['checkpoint-every'],
    keepCheckpoint: args['keep-checkpoint'],
    reporter: 'console',
  };
}

const percent = (v: number | undefined): string => (v === undefined ? '-' : `${(100 * v).toFixed(1)} %`);

export function renderFit(r: FitResult): string {
  const last = r.history[r.history.length - 1];
  const lines = [
    `${r.output}: ${r.student}, ${r.parameters.toLocaleString('en-US')} parameters, ${r.classNames.length || '?'} classes, input ${r.preprocessing.colorOrder} ${r.preprocessing.width}x${r.preprocessing.height}`,
    `  samples: ${r.samples.train} train, ${r.samples.val} val, ${r.samples.test} test${r.corrupt ? ` (${r.corrupt} corrupt images skipped)` : ''}`,
    `  ${r.history.length} epochs, ${r.seconds.toFixed(1)} s, ${r.samplesPerSecond.toFixed(0)} samples/s${last ? `, last loss ${last.trainLoss.toFixed(4)}${last.valAccuracy !== undefined ? `, val accuracy ${percent(last.valAccuracy)}` : ''}` : ''}`,
  ];
  if (r.resumedFromEpoch !== undefined) lines.push(`  resumed from epoch ${r.resumedFromEpoch} (checkpoint ${r.checkpoint?.path ?? '?'})`);
  if (r.checkpoint?.kept) lines.push(`  checkpoint kept: ${r.checkpoint.path}`);
  if (r.test) {
    lines.push(`  test (${r.test.count}): accuracy ${percent(r.test.accuracy)}${r.test.teacherAgreement !== undefined ? `, agrees with teacher ${percent(r.test.teacherAgreement)}` : ''}`);
  }
  return lines.join('\n');
}

interface TrainArgs extends FitFlags {
  arch: string;
}

export const trainCommandModule: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train a student on labelled images (supervised)',
  builder: (y) =>
    fitOptions(y)
      .option('arch', { alias: 'a', type: 'string', default: 'conv', describe: 'conv, conv-small, mobilenet, or a .onnx model to start from' })
      .example('$0 train --data store/ --arch conv --size 28 --color GRAY -o digits.onnx', 'Train a small conv net on a store')
      .example('$0 train --data store/ --size 28 --color GRAY --epochs 20 --checkpoint run.ckpt -o digits.onnx', 'Checkpoint each epoch; rerun the same command after a crash to resume'),
  handler: async (args) => {
    const result = await trainCommand({ ...parseFitFlags(args), arch: args.arch });
    emit(args, result, renderFit);
  },
};
