// Shared by the benchmarks that need a really trained digits model (digits-int8, prune-recovery):
// the model and its training recipe, onnxruntime sessions, and an interleaved batch-1 latency
// comparison of two sessions on the same digits.
import * as ort from 'onnxruntime-node';
import { encodeModel } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import { convStudent, loadDigits, splitDataset, train } from '@edgeloop/distill';
import type { Dataset, TrainOptions, TrainResult } from '@edgeloop/distill';

export const SIDE = 28;

export const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** runDigitsExample's split: 8,000 training digits, 2,000 held out. */
export function digitSplits(): [Dataset, Dataset] {
  const [trainSet, testSet] = splitDataset(loadDigits(), 8000, 1);
  return [trainSet, testSet];
}

/** SGD with Nesterov momentum and weight decay, batch 64, seed 1: the recipe both benches use. */
export function recipe(trainSet: Dataset): Pick<TrainOptions, 'train' | 'batchSize' | 'seed' | 'reporter' | 'optimizer'> {
  return { train: trainSet, batchSize: 64, seed: 1, reporter: 'silent', optimizer: { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 } };
}

/** convStudent [16, 32] + 64 hidden, trained `epochs` epochs (lr 0.05, cosine with warm-up). */
export async function trainDigitsModel(trainSet: Dataset, epochs: number): Promise<TrainResult> {
  const model = convStudent({ inputShape: [1, SIDE, SIDE], classes: 10, channels: [16, 32], hidden: 64, seed: 1 });
  return train(model, { ...recipe(trainSet), epochs, learningRate: 0.05, schedule: { kind: 'cosine', warmupEpochs: 0.5 } });
}

export async function session(model: Model, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), {
    graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
  });
}

/**
 * Batch-1 latency of `a` and `b` on the same 16 test digits, alternating run by run so load on a
 * shared machine hits both alike; 20 warm-up rounds, then the median of `iterations` rounds (ms).
 */
export async function interleavedLatency(
  a: ort.InferenceSession,
  b: ort.InferenceSession,
  testSet: Dataset,
  iterations: number,
): Promise<{ a: number; b: number }> {
  const size = SIDE * SIDE;
  const inputs = Array.from({ length: 16 }, (_, i) => new ort.Tensor('float32', testSet.inputs.slice(i * size, (i + 1) * size), [1, 1, SIDE, SIDE]));
  for (let i = 0; i < 20; i++) {
    await a.run({ input: inputs[i % 16] });
    await b.run({ input: inputs[i % 16] });
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const x = inputs[i % 16];
    let s = performance.now();
    await a.run({ input: x });
    ta.push(performance.now() - s);
    s = performance.now();
    await b.run({ input: x });
    tb.push(performance.now() - s);
  }
  return { a: median(ta), b: median(tb) };
}
