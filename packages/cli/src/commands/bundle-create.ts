import type { CommandModule } from 'yargs';
import { loadPrivateKey } from '@edgeloop/bundle';
import { bundleModel, loadModel } from '@edgeloop/compiler';
import type { Postprocessing } from '@edgeloop/bundle';
import { readLabels } from '../labels.js';
import { emit, formatBytes, UsageError } from '../output.js';
import { preprocessingOptions, parsePreprocessingFlags } from '../preprocessing-flags.js';
import type { PreprocessingFlags } from '../preprocessing-flags.js';

interface CreateArgs extends PreprocessingFlags {
  model: string;
  out: string;
  key: string;
  name?: string;
  'bundle-version': number;
  task?: 'classification' | 'detection' | 'raw';
  labels?: string;
  'output-format'?: 'yolov5' | 'yolov8' | 'logits' | 'probabilities';
  output?: string;
  'conf-threshold'?: number;
  'iou-threshold'?: number;
  target: string;
  golden: number;
  seed: number;
  json: boolean;
}

async function modelOutputNames(path: string): Promise<string[]> {
  return (await loadModel(path)).graph.outputs.map((o) => o.name);
}

export const bundleCreateCommand: CommandModule<object, CreateArgs> = {
  command: 'create <model>',
  describe: 'Package an ONNX model as a signed bundle (manifest, preprocessing, golden pairs)',
  builder: (y) =>
    preprocessingOptions(
      y
        .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
        .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Bundle file to write' })
        .option('key', { alias: 'k', type: 'string', demandOption: true, describe: 'Private signing key (.key)' })
        .option('name', { type: 'string', describe: 'Bundle name (default: model file name)' })
        .option('bundle-version', { type: 'number', default: 1, describe: 'Integer bundle version (devices only accept higher ones)' })
        .option('task', { choices: ['classification', 'detection', 'raw'] as const, describe: 'Model task' })
        .option('labels', { type: 'string', describe: 'Labels file (one per line) or comma-separated list' })
        .option('output-format', { choices: ['yolov5', 'yolov8', 'logits', 'probabilities'] as const, describe: 'How the runtime reads the output (detection heads: yolov5 / yolov8)' })
        .option('output', { type: 'string', describe: 'Output the --output-format and thresholds apply to (default: the first)' })
        .option('conf-threshold', { type: 'number', describe: 'Detection confidence threshold (0..1, runtime default 0.25)' })
        .option('iou-threshold', { type: 'number', describe: 'Detection NMS IoU threshold (0..1, runtime default 0.45)' })
        .option('target', { type: 'string', default: 'x86-64-cpu', describe: 'Device profile name or file' })
        .option('golden', { type: 'number', default: 2, describe: 'Golden input/output pairs to record' })
        .option('seed', { type: 'number', default: 1, describe: 'Seed for golden inputs' })
        .option('json', { type: 'boolean', default: false }),
    ).example('$0 bundle create model.onnx -o model.bundle -k release.key --labels 0,1,2,3,4,5,6,7,8,9', ''),
  handler: async (args) => {
    if (!Number.isInteger(args['bundle-version']) || args['bundle-version'] < 1) {
      throw new UsageError(`--bundle-version must be a positive integer, got ${args['bundle-version']}`);
    }
    for (const flag of ['conf-threshold', 'iou-threshold'] as const) {
      const v = args[flag];
      if (v !== undefined && !(v >= 0 && v <= 1)) throw new UsageError(`--${flag} must be between 0 and 1, got ${v}`);
    }
    const hint: Postprocessing = {
      ...(args['output-format'] ? { format: args['output-format'] } : {}),
      ...(args['conf-threshold'] === undefined ? {} : { confThreshold: args['conf-threshold'] }),
      ...(args['iou-threshold'] === undefined ? {} : { iouThreshold: args['iou-threshold'] }),
    };
    if (args.output !== undefined && Object.keys(hint).length === 0) throw new UsageError('--output names the output for --output-format / --conf-threshold / --iou-threshold; give one of them');
    const outputName = args.output ?? (Object.keys(hint).length > 0 ? (await modelOutputNames(args.model))[0] : undefined);
    const privateKeyPem = await loadPrivateKey(args.key);
    const { preprocessing, inputShape } = parsePreprocessingFlags(args);
    const result = await bundleModel({
      model: args.model,
      outPath: args.out,
      privateKeyPem,
      version: args['bundle-version'],
      targetProfile: args.target,
      goldenCount: args.golden,
      goldenSeed: args.seed,
      ...(args.name ? { name: args.name } : {}),
      ...(args.task ? { task: args.task } : {}),
      ...(args.labels ? { labels: await readLabels(args.labels) } : {}),
      ...(preprocessing ? { preprocessing } : {}),
      ...(inputShape ? { inputShape } : {}),
      ...(outputName === undefined ? {} : { postprocessing: { [outputName]: hint } }),
    });
    const m = result.manifest;
    emit(
      args,
      { path: args.out, bytes: result.bytes, sha256: result.sha256, manifest: m },
      (r) =>
        [
          `wrote ${r.path} (${formatBytes(r.bytes)}, sha256 ${r.sha256})`,
          `  ${m.name} v${m.version} for ${m.targetProfile}, task ${m.task}, ${m.members.length} members, ${m.golden.length} golden pairs`,
        ].join('\n'),
    );
  },
};
