// Quantization parameters: affine activations (uint8 / int8) and symmetric int8 weights.
export type ActivationType = 'uint8' | 'int8';

export interface QParams {
  scale: number;
  zeroPoint: number;
  type: ActivationType;
}

const LIMITS: Record<ActivationType, [number, number]> = { uint8: [0, 255], int8: [-128, 127] };

/** Affine parameters covering [low, high] (widened to include 0 so zero is exact). */
export function activationQParams(low: number, high: number, type: ActivationType, symmetric = false): QParams {
  const [qmin, qmax] = LIMITS[type];
  let rmin = Math.min(low, 0);
  let rmax = Math.max(high, 0);
  if (symmetric) {
    const m = Math.max(-rmin, rmax);
    rmin = -m;
    rmax = m;
  }
  let scale = Math.fround((rmax - rmin) / (qmax - qmin));
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1;
  if (symmetric) return { scale, zeroPoint: type === 'uint8' ? 128 : 0, type };
  const zeroPoint = Math.min(qmax, Math.max(qmin, Math.round(qmin - rmin / scale)));
  return { scale, zeroPoint, type };
}

export interface WeightQuantization {
  values: Int8Array;
  /** One scale per channel (or one for the whole tensor). */
  scales: Float32Array;
}

/**
 * Symmetric int8 weights, one scale per slice along `axis` (null: per tensor). `reduceRange`
 * uses 7 bits ([-64, 63]), which avoids the int16 saturation of u8s8 products on AVX2 without VNNI.
 */
export function quantizeWeights(values: Float32Array, dims: readonly number[], axis: number | null, reduceRange = false): WeightQuantization {
  const qmax = reduceRange ? 63 : 127;
  const channels = axis === null ? 1 : dims[axis];
  const inner = axis === null ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number): number => (axis === null ? 0 : Math.floor(i / inner) % channels);
  const absMax = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    absMax[c] = Math.max(absMax[c], Math.abs(values[i]));
  }
  const scales = Float32Array.from(absMax, (m) => (m > 0 ? Math.fround(m / qmax) : 1));
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i] / scales[channelOf(i)]);
    q[i] = Math.max(-qmax, Math.min(qmax, v));
  }
  return { values: q, scales };
}

/** int32 bias with scale input_scale * weight_scale[c] (what QLinearConv / QGemm expect). */
export function quantizeBias(values: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  const scales = new Float32Array(values.length);
  const q = new Int32Array(values.length);
  for (let c = 0; c < values.length; c++) {
    const s = Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : c]);
    scales[c] = s;
    q[c] = Math.max(-2147483647, Math.min(2147483647, Math.round(values[c] / s)));
  }
  return { values: q, scales };
}
