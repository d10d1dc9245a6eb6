// Structured channel pruning and recovery fine-tuning on a really trained model: a digits student
// (convStudent channels [16, 32] + 64 hidden) trained 3 epochs on the 8,000 training digits
// (runDigitsExample's split), then pruneChannels at 50% (L1 filter norm; BN, next conv and the
// Gemm rows after Flatten rewritten), then fine-tuned with distill's train on the same data.
// Top-1 on the 2,000 held-out test digits before pruning, right after pruning and after recovery;
// then batch-1 latency of the pruned vs the unpruned model (both BN-folded), interleaved in the
// same process (unpruned is the baseline of the ratio).
// Run: node bench/dist/prune-recovery.js   (env: EPOCHS=3, RECOVERY=2, RATIO=0.5, THREADS=1, ITERATIONS=300)
import { CLEANUP_PIPELINE, pruneChannels, runPipeline } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import { evaluate, train } from '@edgeloop/distill';
import { digitSplits, interleavedLatency, recipe, session, trainDigitsModel } from './digits-support.js';

const EPOCHS = Number(process.env.EPOCHS ?? 3);
const RECOVERY = Number(process.env.RECOVERY ?? 2);
const RATIO = Number(process.env.RATIO ?? 0.5);
const THREADS = Number(process.env.THREADS ?? 1);
const ITERATIONS = Number(process.env.ITERATIONS ?? 300);

function parameters(m: Model): number {
  return m.graph.initializers.filter((t) => t.dataType === 1 && !/running_(mean|var)$/.test(t.name) && t.dims.length > 0).reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
}

const pct = (a: number): string => `${(100 * a).toFixed(2)}%`;

async function main(): Promise<void> {
  const [trainSet, testSet] = digitSplits();
  console.log(`prune-recovery: command: node bench/dist/prune-recovery.js (EPOCHS=${EPOCHS} RECOVERY=${RECOVERY} RATIO=${RATIO} THREADS=${THREADS} ITERATIONS=${ITERATIONS}); machine is shared (2 cores, other jobs running)`);
  const common = recipe(trainSet);
  let t = performance.now();
  const trained = (await trainDigitsModel(trainSet, EPOCHS)).model;
  console.log(`prune-recovery: trained convStudent [16, 32] + 64 hidden, ${EPOCHS} epochs on ${trainSet.count} digits in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const pruned = pruneChannels(trained, { ratio: RATIO });
  const groups = pruned.report.groups.map((g) => `${g.convs.join('+')} ${g.channels}->${g.kept}`).join(', ');
  const frozen = pruned.report.frozen.map((g) => `${g.convs.join('+')} (${g.reason})`).join(', ');
  console.log(`prune-recovery: pruneChannels ratio ${RATIO}: ${groups}${frozen ? `; frozen: ${frozen}` : ''}; parameters ${parameters(trained)} -> ${parameters(pruned.model)} (${((100 * parameters(pruned.model)) / parameters(trained)).toFixed(1)}%)`);

  t = performance.now();
  const recovered = (await train(pruned.model, { ...common, epochs: RECOVERY, learningRate: 0.01, schedule: { kind: 'cosine' } })).model;
  const recoveryS = (performance.now() - t) / 1000;

  const before = await evaluate(trained, testSet);
  const after = await evaluate(pruned.model, testSet);
  const rec = await evaluate(recovered, testSet);
  console.log(`prune-recovery: top-1 on ${testSet.count} held-out test digits: unpruned ${pct(before.accuracy)}; pruned ${pct(after.accuracy)} (${(100 * (after.accuracy - before.accuracy)).toFixed(2)} points); after ${RECOVERY} recovery epoch(s) (lr 0.01 cosine, ${recoveryS.toFixed(1)} s) ${pct(rec.accuracy)} (${(100 * (rec.accuracy - before.accuracy)).toFixed(2)} points vs unpruned)`);

  // Batch-1 latency, both BN-folded, interleaved on the same digits.
  const base = await session((await runPipeline(trained, CLEANUP_PIPELINE)).model, THREADS);
  const small = await session((await runPipeline(recovered, CLEANUP_PIPELINE)).model, THREADS);
  const { a: mb, b: ms } = await interleavedLatency(base, small, testSet, ITERATIONS);
  console.log(`prune-recovery: batch-1 latency (median of ${ITERATIONS} interleaved runs, ${THREADS} thread(s)): unpruned ${(mb * 1000).toFixed(0)} us, pruned ${(ms * 1000).toFixed(0)} us; latency ratio pruned/unpruned = ${(ms / mb).toFixed(2)} (speedup ${(mb / ms).toFixed(2)}x)`);
  await base.release();
  await small.release();
}

await main();
