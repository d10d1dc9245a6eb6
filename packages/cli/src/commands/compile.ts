import type { CommandModule } from 'yargs';
import { loadPrivateKey } from '@edgeloop/bundle';
import { BudgetNotMetError, compileModel, DEFAULT_CALIBRATION_LIMIT, DEFAULT_MAX_ACCURACY_DROP, renderCompileReport } from '@edgeloop/compiler';
import type { CompileOptions } from '@edgeloop/compiler';
import { readLabels } from '../labels.js';
import { emit, UsageError } from '../output.js';
import { parsePreprocessingFlags, preprocessingOptions } from '../preprocessing-flags.js';
import type { PreprocessingFlags } from '../preprocessing-flags.js';

interface CompileArgs extends PreprocessingFlags {
  model: string;
  out?: string;
  key?: string;
  target: string;
  precision?: 'int8' | 'fp16' | 'fp32';
  calibration: string;
  'calibration-method'?: 'minmax' | 'percentile' | 'entropy';
  'reduce-range': 'auto' | 'on' | 'off';
  activations: 'auto' | 'uint8' | 'int8' | 'both';
  'calibration-limit': number;
  eval?: string;
  'max-accuracy-drop': number;
  prune?: number;
  'prune-mode': 'channels' | 'magnitude';
  'max-excluded-layers'?: number;
  labels?: string;
  name?: string;
  'bundle-version': number;
  golden: number;
  threads?: number;
  'latency-runs': number;
  json: boolean;
}

export const compileCommand: CommandModule<object, CompileArgs> = {
  command: 'compile <model>',
  describe: 'Compile an fp32 student for a device profile: cleanup, quantize / fp16 / prune under an accuracy budget, signed bundle',
  builder: (y) =>
    preprocessingOptions(
      y
        .positional('model', { type: 'string', demandOption: true, describe: 'fp32 ONNX model (edgeloop metadata or preprocessing flags)' })
        .option('out', { alias: 'o', type: 'string', describe: 'Bundle file to write (without it: measure and report only)' })
        .option('key', { alias: 'k', type: 'string', describe: 'Private signing key (.key), needed with --out' })
        .option('target', { type: 'string', default: 'x86-64-cpu', describe: 'Device profile name or file' })
        .option('precision', { choices: ['int8', 'fp16', 'fp32'] as const, describe: "Force a precision (default: the profile's; then fp32 is no fallback)" })
        .option('calibration', { type: 'string', demandOption: true, describe: 'Folder of images, or of .bin / .npy float32 tensors' })
        .option('calibration-method', { choices: ['minmax', 'percentile', 'entropy'] as const, describe: 'Only this range method (default: search all three)' })
        .option('activations', { choices: ['auto', 'uint8', 'int8', 'both'] as const, default: 'auto' as const, describe: 'int8 activation types to search: auto = uint8 on x86-64 (onnxruntime runs int8 QDQ as uint8 there), both elsewhere' })
        .option('reduce-range', { choices: ['auto', 'on', 'off'] as const, default: 'auto' as const, describe: '7-bit int8 weights: auto = where x86 u8s8 kernels without VNNI could saturate (see docs/compile.md)' })
        .option('calibration-limit', { type: 'number', default: DEFAULT_CALIBRATION_LIMIT, describe: 'Most calibration samples to use' })
        .option('eval', { type: 'string', describe: 'Labeled folder (<class>/<image>): budget on top-1 accuracy instead of agreement' })
        .option('max-accuracy-drop', { type: 'number', default: DEFAULT_MAX_ACCURACY_DROP, describe: 'Points of top-1 accuracy (or agreement with fp32) the compiled model may lose' })
        .option('prune', { type: 'number', describe: 'Also try pruning this share (0..1) of channels / weights' })
        .option('prune-mode', { choices: ['channels', 'magnitude'] as const, default: 'channels' as const, describe: 'Structured channels or unstructured magnitude' })
        .option('max-excluded-layers', { type: 'number', describe: 'Most sensitive layers the search may keep in float' })
        .option('labels', { type: 'string', describe: 'Labels file (one per line) or comma-separated list' })
        .option('name', { type: 'string', describe: 'Bundle name (default: model file name)' })
        .option('bundle-version', { type: 'number', default: 1, describe: 'Integer bundle version' })
        .option('golden', { type: 'number', default: 2, describe: 'Golden input/output pairs to record' })
        .option('threads', { type: 'number', describe: 'onnxruntime threads for measurements (default: the profile\'s, at most the host\'s cores)' })
        .option('latency-runs', { type: 'number', default: 50, describe: 'Timed batch-1 runs per candidate' })
        .option('json', { type: 'boolean', default: false }),
    ).example('$0 compile examples/models/digits-cnn.onnx -o digits.bundle -k release.key --calibration calib/ --max-accuracy-drop 0.5', ''),
  handler: async (args) => {
    if (args.out && !args.key) throw new UsageError('--out needs --key to sign the bundle');
    if (!Number.isInteger(args['bundle-version']) || args['bundle-version'] < 1) throw new UsageError(`--bundle-version must be a positive integer, got ${args['bundle-version']}`);
    if (!Number.isInteger(args['calibration-limit']) || args['calibration-limit'] < 1) throw new UsageError(`--calibration-limit must be a positive integer, got ${args['calibration-limit']}`);
    if (args.prune !== undefined && !(args.prune > 0 && args.prune < 1)) throw new UsageError(`--prune takes a share between 0 and 1, got ${args.prune}`);
    const { preprocessing, inputShape } = parsePreprocessingFlags(args);
    const options: CompileOptions = {
      model: args.model,
      target: args.target,
      calibration: args.calibration,
      calibrationLimit: args['calibration-limit'],
      maxAccuracyDrop: args['max-accuracy-drop'],
      version: args['bundle-version'],
      goldenCount: args.golden,
      latency: { runs: args['latency-runs'] },
      ...(args.out ? { outPath: args.out, privateKeyPem: await loadPrivateKey(args.key as string) } : {}),
      ...(args.precision ? { precision: args.precision } : {}),
      ...(args['calibration-method'] ? { calibrationMethod: args['calibration-method'] } : {}),
      reduceRange: args['reduce-range'] === 'auto' ? 'auto' : args['reduce-range'] === 'on',
      ...(args.activations === 'auto' ? {} : { activationTypes: args.activations === 'both' ? ['uint8', 'int8'] : [args.activations] }),
      ...(args.eval ? { eval: args.eval } : {}),
      ...(args.prune !== undefined ? { prune: { mode: args['prune-mode'], ratio: args.prune } } : {}),
      ...(args['max-excluded-layers'] !== undefined ? { maxExcludedLayers: args['max-excluded-layers'] } : {}),
      ...(args.labels ? { labels: await readLabels(args.labels) } : {}),
      ...(args.name ? { name: args.name } : {}),
      ...(args.threads !== undefined ? { threads: args.threads } : {}),
      ...(preprocessing ? { preprocessing } : {}),
      ...(inputShape ? { inputShape } : {}),
    };
    const { report } = await compileModel(options);
    emit(args, report, renderCompileReport);
    if (!report.ok) {
      // The report above is the answer; the exit status and one line on stderr say it failed.
      const failure = new BudgetNotMetError(report);
      process.stderr.write(`edgeloop: ${failure.message}\n`);
      process.exitCode = 3;
    }
  },
};
