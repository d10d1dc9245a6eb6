// Preprocessing flags shared by `bundle create` and `compile`: for models that do not carry
// edgeloop's metadata, say how images become the input tensor.
import type { Argv } from 'yargs';
import type { Preprocessing } from '@edgeloop/bundle';
import { UsageError } from './output.js';

export interface PreprocessingFlags {
  inputShape?: string;
  mean?: string;
  std?: string;
  scale?: number;
  layout?: 'NCHW' | 'NHWC';
  color?: 'RGB' | 'BGR' | 'GRAY';
  resize?: 'stretch' | 'letterbox' | 'center-crop';
  inputDtype?: 'float32' | 'uint8';
}

export function preprocessingOptions<T>(y: Argv<T>): Argv<T & PreprocessingFlags> {
  return y
    .option('input-shape', { type: 'string', describe: 'Fix dynamic input dims, e.g. 1,3,224,224' })
    .option('mean', { type: 'string', describe: 'Per-channel mean after scaling, e.g. 0.485,0.456,0.406' })
    .option('std', { type: 'string', describe: 'Per-channel std after scaling, e.g. 0.229,0.224,0.225' })
    .option('scale', { type: 'number', describe: 'Pixel scale before mean/std (default 1/255)' })
    .option('layout', { choices: ['NCHW', 'NHWC'] as const, describe: 'Input tensor layout' })
    .option('color', { choices: ['RGB', 'BGR', 'GRAY'] as const, describe: 'Channel order' })
    .option('resize', { choices: ['stretch', 'letterbox', 'center-crop'] as const, describe: 'How frames are fitted' })
    .option('input-dtype', { choices: ['float32', 'uint8'] as const, describe: 'Input element type' })
    .group(['input-shape', 'mean', 'std', 'scale', 'layout', 'color', 'resize', 'input-dtype'], 'Preprocessing:') as Argv<
    T & PreprocessingFlags
  >;
}

function numberList(flag: string, value: string, integer = false): number[] {
  const parts = value.split(/[,x ]+/).filter((s) => s.length > 0);
  const nums = parts.map(Number);
  if (nums.length === 0 || nums.some((n) => !Number.isFinite(n) || (integer && (!Number.isInteger(n) || n <= 0)))) {
    throw new UsageError(`--${flag} takes a comma-separated list of ${integer ? 'positive integers' : 'numbers'}, got ${JSON.stringify(value)}`);
  }
  return nums;
}

export function parsePreprocessingFlags(flags: PreprocessingFlags): { preprocessing?: Partial<Preprocessing>; inputShape?: number[] } {
  const pre: Partial<Preprocessing> = {};
  if (flags.mean !== undefined) pre.mean = numberList('mean', flags.mean);
  if (flags.std !== undefined) {
    pre.std = numberList('std', flags.std);
    if (pre.std.some((s) => s <= 0)) throw new UsageError('--std values must be positive');
  }
  if (flags.scale !== undefined) pre.scale = flags.scale;
  if (flags.layout) pre.layout = flags.layout;
  if (flags.color) pre.colorOrder = flags.color;
  if (flags.resize) pre.resize = flags.resize;
  if (flags.inputDtype) pre.dtype = flags.inputDtype;
  const out: { preprocessing?: Partial<Preprocessing>; inputShape?: number[] } = {};
  if (Object.keys(pre).length > 0) out.preprocessing = pre;
  if (flags.inputShape !== undefined) out.inputShape = numberList('input-shape', flags.inputShape, true);
  return out;
}
