// Student architectures as fp32 ONNX models built in code: plain conv stacks and MobileNet-style
// depthwise-separable stacks with a width multiplier. Weights are seeded (He-normal convs,
// uniform dense layers), so the same options give the same model bit for bit.
import { GraphBuilder } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import { TrainingConfigError } from './errors.js';
import { Rng } from './random.js';

export type Activation = 'relu' | 'relu6' | 'hardswish';

/** Names every student uses: one NCHW float input with a symbolic batch, one logits output. */
export const STUDENT_INPUT = 'input';
export const STUDENT_OUTPUT = 'logits';

interface Common {
  /** [channels, height, width]. */
  inputShape: [number, number, number];
  classes: number;
  seed?: number;
  activation?: Activation;
  /** Dropout ratio before the classifier (0: none). */
  dropout?: number;
}

export interface ConvStudentOptions extends Common {
  /** Output channels of each conv block (3x3 conv, BatchNorm, activation, 2x2 max-pool). */
  channels: number[];
  /** 'flatten' keeps spatial detail (small images); 'gap' averages it away (default 'flatten'). */
  head?: 'flatten' | 'gap';
  /** Hidden dense layer width before the classifier (0: none). */
  hidden?: number;
}

export interface MobileNetBlock {
  out: number;
  stride: 1 | 2;
}

export interface MobileNetStudentOptions extends Common {
  widthMultiplier?: number;
  /** Stem conv channels before the multiplier (default 16) and stride (default 1). */
  stem?: { channels: number; stride: 1 | 2 };
  blocks?: MobileNetBlock[];
}

export const DEFAULT_MOBILENET_BLOCKS: MobileNetBlock[] = [
  { out: 32, stride: 1 }, { out: 64, stride: 2 }, { out: 64, stride: 1 }, { out: 128, stride: 2 }, { out: 128, stride: 1 },
];

class StudentBuilder {
  readonly b = new GraphBuilder('student');
  private readonly rng: Rng;
  constructor(seed: number, private readonly activationKind: Activation) {
    this.rng = new Rng(seed);
  }

  private heNormal(name: string, dims: number[], fanIn: number): string {
    const std = Math.sqrt(2 / fanIn);
    const values = Float32Array.from({ length: dims.reduce((a, c) => a * c, 1) }, () => this.rng.normal() * std);
    return this.b.initializer(name, values, dims);
  }

  private filled(name: string, count: number, value: number): string {
    return this.b.initializer(name, new Float32Array(count).fill(value), [count]);
  }

  conv(name: string, x: string, inC: number, outC: number, kernel: number, stride: number, group = 1): string {
    const w = this.heNormal(`${name}.weight`, [outC, inC / group, kernel, kernel], (inC / group) * kernel * kernel);
    const pad = Math.floor(kernel / 2);
    return this.b.node('Conv', [x, w], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad], group }, { name });
  }

  batchNorm(name: string, x: string, channels: number): string {
    return this.b.node(
      'BatchNormalization',
      [x, this.filled(`${name}.scale`, channels, 1), this.filled(`${name}.bias`, channels, 0),
        this.filled(`${name}.running_mean`, channels, 0), this.filled(`${name}.running_var`, channels, 1)],
      { epsilon: 1e-5, momentum: 0.9 },
      { name },
    );
  }

  activation(name: string, x: string): string {
    switch (this.activationKind) {
      case 'relu': return this.b.node('Relu', [x], {}, { name });
      case 'hardswish': return this.b.node('HardSwish', [x], {}, { name });
      case 'relu6': {
        const lo = this.b.initializer(`${name}.min`, Float32Array.of(0), []);
        const hi = this.b.initializer(`${name}.max`, Float32Array.of(6), []);
        return this.b.node('Clip', [x, lo, hi], {}, { name });
      }
    }
  }

  dense(name: string, x: string, inF: number, outF: number, output?: string): string {
    const bound = 1 / Math.sqrt(inF);
    const w = this.b.initializer(`${name}.weight`, Float32Array.from({ length: outF * inF }, () => this.rng.uniform(-bound, bound)), [outF, inF]);
    const bias = this.filled(`${name}.bias`, outF, 0);
    return this.b.node('Gemm', [x, w, bias], { transB: 1 }, { name, ...(output ? { outputs: [output] } : {}) });
  }

  dropout(name: string, x: string, ratio: number): string {
    if (!(ratio > 0)) return x;
    return this.b.node('Dropout', [x, this.b.initializer(`${name}.ratio`, Float32Array.of(ratio), [])], {}, { name });
  }

  finish(logits: string, classes: number): Model {
    this.b.output(logits, 'float32', ['batch', classes]);
    return this.b.build({ opset: 17 });
  }
}

function validate(options: Common): void {
  const [c, h, w] = options.inputShape;
  if (![c, h, w, options.classes].every((v) => Number.isInteger(v) && v > 0)) {
    throw new TrainingConfigError(`student: inputShape and classes must be positive integers`);
  }
}

/** Conv blocks (3x3 conv, BN, activation, 2x2 max-pool), then flatten or GAP, optional hidden layer, logits. */
export function convStudent(options: ConvStudentOptions): Model {
  validate(options);
  const s = new StudentBuilder(options.seed ?? 0, options.activation ?? 'relu');
  const [c0, h0, w0] = options.inputShape;
  let x = s.b.input(STUDENT_INPUT, 'float32', ['batch', c0, h0, w0]);
  let [c, h, w] = [c0, h0, w0];
  options.channels.forEach((out, i) => {
    x = s.conv(`block${i + 1}.conv`, x, c, out, 3, 1);
    x = s.batchNorm(`block${i + 1}.bn`, x, out);
    x = s.activation(`block${i + 1}.act`, x);
    x = s.b.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, { name: `block${i + 1}.pool` });
    [c, h, w] = [out, Math.floor(h / 2), Math.floor(w / 2)];
  });
  if ((options.head ?? 'flatten') === 'gap') {
    x = s.b.node('GlobalAveragePool', [x], {}, { name: 'gap' });
    h = w = 1;
  }
  x = s.b.node('Flatten', [x], { axis: 1 }, { name: 'flatten' });
  let features = c * h * w;
  if (options.hidden) {
    x = s.dense('hidden', x, features, options.hidden);
    x = s.b.node('Relu', [x], {}, { name: 'hidden.act' });
    features = options.hidden;
  }
  x = s.dropout('dropout', x, options.dropout ?? 0);
  return s.finish(s.dense('classifier', x, features, options.classes, STUDENT_OUTPUT), options.classes);
}

/** Channel count after the width multiplier: a multiple of 4, at least 4. */
export function scaledChannels(channels: number, multiplier: number): number {
  return Math.max(4, Math.round((channels * multiplier) / 4) * 4);
}

/** MobileNet-v1-style: stem conv, depthwise-separable blocks (dw 3x3 + BN + act, pw 1x1 + BN + act), GAP, logits. */
export function mobileNetStudent(options: MobileNetStudentOptions): Model {
  validate(options);
  const alpha = options.widthMultiplier ?? 1;
  if (!(alpha > 0)) throw new TrainingConfigError('student: widthMultiplier must be > 0');
  const s = new StudentBuilder(options.seed ?? 0, options.activation ?? 'relu6');
  const [c0, h0, w0] = options.inputShape;
  let x = s.b.input(STUDENT_INPUT, 'float32', ['batch', c0, h0, w0]);
  const stem = options.stem ?? { channels: 16, stride: 1 };
  let c = scaledChannels(stem.channels, alpha);
  x = s.activation('stem.act', s.batchNorm('stem.bn', s.conv('stem.conv', x, c0, c, 3, stem.stride), c));
  (options.blocks ?? DEFAULT_MOBILENET_BLOCKS).forEach((block, i) => {
    const name = `block${i + 1}`;
    const out = scaledChannels(block.out, alpha);
    x = s.activation(`${name}.dw.act`, s.batchNorm(`${name}.dw.bn`, s.conv(`${name}.dw`, x, c, c, 3, block.stride, c), c));
    x = s.activation(`${name}.pw.act`, s.batchNorm(`${name}.pw.bn`, s.conv(`${name}.pw`, x, c, out, 1, 1), out));
    c = out;
  });
  x = s.b.node('Flatten', [s.b.node('GlobalAveragePool', [x], {}, { name: 'gap' })], { axis: 1 }, { name: 'flatten' });
  x = s.dropout('dropout', x, options.dropout ?? 0);
  return s.finish(s.dense('classifier', x, c, options.classes, STUDENT_OUTPUT), options.classes);
}
