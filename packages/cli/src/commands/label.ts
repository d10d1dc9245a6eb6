import type { CommandModule } from 'yargs';
import { labelCommand } from '@edgeloop/distill';
import type { LabelCommandResult } from '@edgeloop/distill';
import { emit, table } from '../output.js';
import { teacherFlagOptions, teacherOptionsOf } from './distill.js';
import type { TeacherFlags } from './distill.js';

interface LabelArgs extends TeacherFlags {
  data: string;
  split?: 'train' | 'val' | 'test';
  labels?: string;
  assign: boolean;
  threads?: number;
  json: boolean;
}

function renderLabel(r: LabelCommandResult): string {
  const requests = r.teacher.requests !== undefined ? `, ${r.teacher.requests} HTTP requests` : '';
  const lines = [
    `${r.store}: ${r.samples} samples labelled by ${r.teacher.description} (${r.teacher.id.slice(0, 12)}), ${r.classes} classes`,
    `  ${r.predicted} predicted, ${r.fromCache} from cache${requests}; cache ${r.cacheDir}`,
  ];
  if (r.agreement !== undefined) lines.push(`  agrees with existing labels on ${(100 * r.agreement).toFixed(1)} %`);
  if (r.assigned > 0) lines.push(`  labels assigned to ${r.assigned} unlabeled samples`);
  lines.push(table(Object.entries(r.predictedClasses).map(([k, n]) => [`  ${k}`, String(n)])));
  return lines.join('\n');
}

export const labelCommandModule: CommandModule<object, LabelArgs> = {
  command: 'label',
  describe: 'Run a teacher over a dataset store and cache its outputs (soft labels)',
  builder: (y) =>
    y
      .options(teacherFlagOptions)
      .option('data', { alias: 'd', type: 'string', demandOption: true, describe: 'Dataset store' })
      .option('split', { choices: ['train', 'val', 'test'] as const, describe: 'Only this split (default all samples)' })
      .option('labels', { type: 'string', describe: 'Class names in the teacher\'s output order, comma-separated' })
      .option('assign', { type: 'boolean', default: false, describe: 'Give unlabeled samples (e.g. field samples) the teacher\'s top class as label' })
      .option('threads', { type: 'number', describe: 'onnxruntime threads' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 label --teacher teacher.onnx --data store/', 'Cache a teacher\'s outputs for a store')
      .example('$0 label --teacher http://127.0.0.1:8090/predict --data store/ --labels 0,1,2,3,4,5,6,7,8,9 --assign', 'Label field samples over HTTP'),
  handler: async (args) => {
    const result = await labelCommand({
      teacher: args.teacher,
      teacherOptions: teacherOptionsOf(args),
      data: args.data,
      split: args.split,
      cacheDir: args.cache,
      batchSize: args['label-batch'],
      classNames: args.labels?.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
      assignLabels: args.assign,
      threads: args.threads,
      reporter: 'console',
    });
    emit(args, result, renderLabel);
  },
};
