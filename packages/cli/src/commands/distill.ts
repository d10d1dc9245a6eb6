import type { CommandModule } from 'yargs';
import { distillCommand } from '@edgeloop/distill';
import type { DistillCommandResult, OpenTeacherOptions } from '@edgeloop/distill';
import { emit, UsageError } from '../output.js';
import { fitOptions, parseFitFlags, renderFit } from './train.js';
import type { FitFlags } from './train.js';

// Flags `distill` and `label` share: which teacher, how to reach an HTTP one, where to cache.
export interface TeacherFlags {
  teacher: string[];
  'teacher-weight'?: number[];
  cache?: string;
  'http-format': 'image' | 'json';
  'http-timeout': number;
  'http-attempts': number;
  'http-rps'?: number;
  'http-concurrency': number;
  'label-batch': number;
}

export const teacherFlagOptions = {
  teacher: { alias: 't', type: 'string', array: true, demandOption: true, describe: 'Teacher model (.onnx) or http(s) URL; repeat for an ensemble' },
  'teacher-weight': { type: 'number', array: true, describe: 'Ensemble weight per --teacher, in order (default equal)' },
  cache: { type: 'string', describe: 'Teacher output cache folder (default <store>/cache)' },
  'http-format': { choices: ['image', 'json'], default: 'image', describe: 'HTTP teacher request body: raw image bytes or JSON with base64 (docs/teachers.md)' },
  'http-timeout': { type: 'number', default: 30000, describe: 'HTTP teacher per-request timeout, ms' },
  'http-attempts': { type: 'number', default: 5, describe: 'HTTP teacher tries per image (exponential backoff with jitter)' },
  'http-rps': { type: 'number', describe: 'HTTP teacher requests per second (default unlimited)' },
  'http-concurrency': { type: 'number', default: 4, describe: 'HTTP teacher requests in flight' },
  'label-batch': { type: 'number', default: 32, describe: 'Samples per teacher call (the cache is written after each)' },
} as const;

export function teacherOptionsOf(args: TeacherFlags): OpenTeacherOptions {
  const weights = args['teacher-weight'];
  if (weights && weights.length !== args.teacher.length) throw new UsageError(`--teacher-weight given ${weights.length} times for ${args.teacher.length} teachers`);
  return {
    weights,
    http: {
      format: args['http-format'],
      timeoutMs: args['http-timeout'],
      attempts: args['http-attempts'],
      requestsPerSecond: args['http-rps'],
      concurrency: args['http-concurrency'],
    },
  };
}

interface DistillArgs extends FitFlags, TeacherFlags {
  student: string;
  temperature: number;
  alpha: number;
}

function renderDistill(r: DistillCommandResult): string {
  const requests = r.teacher.requests !== undefined ? `, ${r.teacher.requests} HTTP requests` : '';
  return `${renderFit(r)}\n  teacher ${r.teacher.description} (${r.teacher.id.slice(0, 12)}): ${r.teacher.predicted} labelled, ${r.teacher.fromCache} from cache${requests}; T=${r.temperature}, alpha=${r.alpha}`;
}

export const distillCommandModule: CommandModule<object, DistillArgs> = {
  command: 'distill',
  describe: 'Train a small student on the soft labels of a teacher (ONNX model, HTTP service or ensemble)',
  builder: (y) =>
    fitOptions(y)
      .options(teacherFlagOptions)
      .option('student', { alias: 's', type: 'string', default: 'conv', describe: 'conv, conv-small, mobilenet, or a student .onnx to start from' })
      .option('temperature', { alias: 'T', type: 'number', default: 4, describe: 'Softmax temperature of the soft labels' })
      .option('alpha', { type: 'number', default: 0.9, describe: 'Weight of the soft-label term (1 - alpha on hard labels)' })
      .example('$0 distill --teacher teacher.onnx --data store/ --student conv-small -o student.onnx', 'Distill an ONNX teacher')
      .example('$0 distill --teacher teacher.onnx --data store/ --epochs 20 --checkpoint distill.ckpt -o student.onnx', 'Checkpoint each epoch; the same command resumes after a crash')
      .example('$0 distill --teacher http://127.0.0.1:8090/predict --data store/ --size 28 --color GRAY -o student.onnx', 'Distill a teacher served over HTTP'),
  handler: async (args) => {
    if (!(args.alpha >= 0 && args.alpha <= 1)) throw new UsageError('--alpha must be between 0 and 1');
    if (!(args.temperature > 0)) throw new UsageError('--temperature must be positive');
    const result = await distillCommand({
      ...parseFitFlags(args),
      teacher: args.teacher,
      teacherOptions: teacherOptionsOf(args),
      student: args.student,
      temperature: args.temperature,
      alpha: args.alpha,
      cacheDir: args.cache,
      labelBatchSize: args['label-batch'],
    });
    emit(args, result, renderDistill);
  },
};
