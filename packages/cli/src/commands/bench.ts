import type { CommandModule } from 'yargs';
import { benchModels } from '@edgeloop/compiler';
import type { BenchReport } from '@edgeloop/compiler';
import { emit, formatBytes, table, UsageError } from '../output.js';

interface BenchArgs {
  model: string;
  compare?: string;
  iterations: number;
  warmup: number;
  threads?: number;
  json: boolean;
}

function render(r: BenchReport): string {
  const rows = [['model', 'kind', 'size', 'p50 ms', 'p95 ms', 'mean ms', 'inferences/s']];
  for (const m of r.models) {
    rows.push([m.path, m.kind, formatBytes(m.sizeBytes), m.latencyMs.p50.toFixed(3), m.latencyMs.p95.toFixed(3), m.latencyMs.mean.toFixed(3), m.throughput.toFixed(1)]);
  }
  const lines = [table(rows), `batch 1, ${r.models[0]?.runs ?? 0} interleaved runs per model after warm-up${r.threads ? `, ${r.threads} thread(s)` : ''}`];
  if (r.ratio !== undefined) {
    const [a, b] = r.models;
    lines.push(`ratio: ${b.path} p50 / ${a.path} p50 = ${r.ratio.toFixed(2)}x (${r.ratio >= 1 ? `${a.path} is ${r.ratio.toFixed(2)}x faster` : `${b.path} is ${(1 / r.ratio).toFixed(2)}x faster`})`);
  }
  return lines.join('\n');
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench <model>',
  describe: 'Measure batch-1 latency (p50/p95) and throughput of a model or bundle with onnxruntime on this host',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model or bundle' })
      .option('compare', { type: 'string', describe: 'A second model or bundle, measured in the same run, interleaved' })
      .option('iterations', { type: 'number', default: 100, describe: 'Timed runs per model' })
      .option('warmup', { type: 'number', default: 5, describe: 'Untimed runs per model first' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 bench student.onnx --compare digits.bundle', ''),
  handler: async (args) => {
    if (!Number.isInteger(args.iterations) || args.iterations < 1) throw new UsageError(`--iterations must be a positive integer, got ${args.iterations}`);
    if (args.threads !== undefined && (!Number.isInteger(args.threads) || args.threads < 1)) throw new UsageError(`--threads must be a positive integer, got ${args.threads}`);
    const paths = args.compare ? [args.model, args.compare] : [args.model];
    const report = await benchModels(paths, {
      iterations: args.iterations,
      warmup: args.warmup,
      ...(args.threads === undefined ? {} : { threads: args.threads }),
    });
    emit(args, report, render);
  },
};
