// `--arch` / `--student`: a built-in architecture name or an ONNX file to start from.
import { loadModel } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import { TrainingConfigError } from '../errors.js';
import { convStudent, mobileNetStudent } from '../students.js';

export const STUDENT_ARCHITECTURES = ['conv', 'conv-small', 'mobilenet'] as const;

/**
 * 'conv': conv [16, 32] + 64 hidden; 'conv-small': conv [8, 16]; 'mobilenet': MobileNet-style
 * with width 0.5; anything ending in .onnx: that model (its weights are the starting point).
 */
export async function resolveStudent(spec: string, shape: { inputShape: [number, number, number]; classes: number; seed?: number }): Promise<Model> {
  const seed = shape.seed ?? 1;
  switch (spec) {
    case 'conv': return convStudent({ ...shape, seed, channels: [16, 32], hidden: 64 });
    case 'conv-small': return convStudent({ ...shape, seed, channels: [8, 16] });
    case 'mobilenet': return mobileNetStudent({ ...shape, seed, widthMultiplier: 0.5 });
    default:
      if (/\.onnx$/i.test(spec)) return loadModel(spec);
      throw new TrainingConfigError(`unknown architecture '${spec}': use ${STUDENT_ARCHITECTURES.join(', ')} or a .onnx file`);
  }
}
