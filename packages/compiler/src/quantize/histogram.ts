// Bounded-memory activation histograms for calibration. A histogram covers [-R, R] with a fixed
// number of bins; when a batch holds a value beyond R, R doubles and pairs of bins merge, so one
// pass over any number of samples needs bins * 8 bytes per tensor. Exact min / max / mean / std
// are tracked beside it. Ranges for quantization come from minmax, a percentile of |x|, or
// TensorRT's entropy (KL divergence) calibration.

export type RangeMethod = 'minmax' | 'percentile' | 'entropy';

export interface RangeOptions {
  method: RangeMethod;
  /** For 'percentile': the share of |x| to cover, in percent (default 99.99). */
  percentile?: number;
  /** For 'entropy': number of quantized levels of |x| (default 128, int8's positive half). */
  quantizedBins?: number;
}

/** Exact statistics of one batch of a tensor (computed inside onnxruntime). */
export interface BatchSummary {
  min: number;
  max: number;
  sum: number;
  sumSquares: number;
  count: number;
}

export class ActivationHistogram {
  readonly bins: number;
  counts: Float64Array;
  /** Half-width of the covered interval [-range, range]; 0 before the first value. */
  range = 0;
  min = Infinity;
  max = -Infinity;
  count = 0;
  sum = 0;
  sumSquares = 0;
  /** True when some values were folded in by summary only (no bins): only 'minmax' ranges then. */
  summaryOnly = false;

  constructor(bins = 2048) {
    if (bins < 4 || bins % 4 !== 0) throw new RangeError(`histogram bins must be a multiple of 4, got ${bins}`);
    this.bins = bins;
    this.counts = new Float64Array(bins);
  }

  add(data: Float32Array): void {
    const n = data.length;
    if (n === 0) return;
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum += v;
      sumSquares += v * v;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError('calibration data holds NaN or infinite values');
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    this.count += n;
    this.sum += sum;
    this.sumSquares += sumSquares;
    this.bin(data, Math.max(Math.abs(lo), Math.abs(hi)));
  }

  /**
   * Folds in a batch known by its exact summary and a sample of its values: min / max / mean / std
   * are exact, the bins hold the sample (percentile and entropy only use the bins' proportions).
   */
  addSampled(sample: Float32Array, summary: BatchSummary): void {
    if (!this.fold(summary)) return;
    this.bin(sample, Math.max(Math.abs(summary.min), Math.abs(summary.max)));
  }

  private bin(data: Float32Array, absMax: number): void {
    if (this.range === 0) this.range = absMax > 0 ? absMax : 1e-8;
    while (absMax > this.range) this.grow();
    const n = data.length;
    const bins = this.bins;
    const counts = this.counts;
    const scale = bins / (2 * this.range);
    const offset = this.range;
    for (let i = 0; i < n; i++) {
      let b = Math.floor((data[i] + offset) * scale);
      if (b >= bins) b = bins - 1;
      else if (b < 0) b = 0;
      counts[b]++;
    }
  }

  /**
   * Folds in a batch known only by its extremes and sums (computed inside onnxruntime when only
   * minmax ranges are wanted, so the activations never leave it).
   */
  addSummary(summary: BatchSummary): void {
    if (this.fold(summary)) this.summaryOnly = true;
  }

  /** Min / max / count / sums of a summary; false when it holds no values. */
  private fold(summary: BatchSummary): boolean {
    if (summary.count === 0) return false;
    if (![summary.min, summary.max, summary.sum, summary.sumSquares].every(Number.isFinite)) {
      throw new RangeError('calibration data holds NaN or infinite values');
    }
    this.min = Math.min(this.min, summary.min);
    this.max = Math.max(this.max, summary.max);
    this.count += summary.count;
    this.sum += summary.sum;
    this.sumSquares += summary.sumSquares;
    return true;
  }

  /** Doubles the covered interval, merging pairs of bins into the middle half. */
  private grow(): void {
    const next = new Float64Array(this.bins);
    const quarter = this.bins / 4;
    for (let i = 0; i < this.bins; i++) next[quarter + (i >> 1)] += this.counts[i];
    this.counts = next;
    this.range *= 2;
  }

  get binWidth(): number {
    return (2 * this.range) / this.bins;
  }

  get mean(): number {
    return this.count > 0 ? this.sum / this.count : 0;
  }

  get std(): number {
    if (this.count === 0) return 0;
    const m = this.mean;
    return Math.sqrt(Math.max(0, this.sumSquares / this.count - m * m));
  }

  /** Histogram of x >= 0 over [0, range] (bins / 2 bins; the bin holding 0 comes first). */
  positiveCounts(): Float64Array {
    return this.counts.slice(this.bins / 2);
  }

  /** Histogram of -x for x < 0 over [0, range] (bins / 2 bins, nearest to 0 first). */
  negativeCounts(): Float64Array {
    return this.counts.slice(0, this.bins / 2).reverse();
  }

  /** Histogram of |x| over [0, range] (bins / 2 bins). */
  absoluteCounts(): Float64Array {
    const half = this.bins / 2;
    const out = new Float64Array(half);
    for (let i = 0; i < half; i++) out[i] = this.counts[half + i] + this.counts[half - 1 - i];
    return out;
  }

  /** Re-bins onto `bins` equal bins over [min, max] (approximate: each source bin goes to the bin holding its centre). */
  rebinned(bins: number): { min: number; max: number; counts: number[] } {
    const counts = new Array<number>(bins).fill(0);
    if (this.count === 0) return { min: 0, max: 0, counts };
    const width = (this.max - this.min) / bins;
    for (let i = 0; i < this.bins; i++) {
      if (this.counts[i] === 0) continue;
      const centre = -this.range + (i + 0.5) * this.binWidth;
      const b = width > 0 ? Math.min(bins - 1, Math.max(0, Math.floor((centre - this.min) / width))) : 0;
      counts[b] += this.counts[i];
    }
    return { min: this.min, max: this.max, counts };
  }

  /** The [low, high] range to quantize, by the given method; always within [min, max]. */
  quantizationRange(options: RangeOptions): [number, number] {
    if (this.count === 0) return [0, 0];
    if (options.method === 'minmax') return [this.min, this.max];
    if (this.summaryOnly) throw new RangeError(`'${options.method}' ranges need histograms; this tensor was calibrated for minmax only`);
    if (options.method === 'entropy') {
      // Each side gets its own KL search. One search over |x| lets the denser side pick the
      // threshold for both: an image input normalized to [-0.42, 2.82] has most pixels at -0.42
      // (background), so that spike won the search and clipped every stroke to 0.42. The
      // activations here are uint8 with a zero point (or int8 QDQ), which represent any
      // [low, high] containing 0, so nothing is gained by forcing low = -high; clipping a side
      // is worth it only when that side's own tail is rare.
      const levels = options.quantizedBins ?? 128;
      const low = this.min < 0 ? entropyThreshold(this.negativeCounts(), this.binWidth, levels) : 0;
      const high = this.max > 0 ? entropyThreshold(this.positiveCounts(), this.binWidth, levels) : 0;
      return [Math.max(this.min, -low), Math.min(this.max, high)];
    }
    const threshold = percentileThreshold(this.absoluteCounts(), this.binWidth, options.percentile ?? 99.99);
    return [Math.max(this.min, -threshold), Math.min(this.max, threshold)];
  }
}

function percentileThreshold(abs: Float64Array, width: number, percentile: number): number {
  if (!(percentile > 0 && percentile <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${percentile}`);
  const total = abs.reduce((a, b) => a + b, 0);
  const wanted = (total * percentile) / 100;
  let cumulative = 0;
  for (let i = 0; i < abs.length; i++) {
    cumulative += abs[i];
    if (cumulative >= wanted) return (i + 1) * width;
  }
  return abs.length * width;
}

/**
 * TensorRT's entropy calibration: choose the |x| threshold whose clipped-and-quantized distribution
 * Q is closest (KL divergence) to the clipped reference P.
 */
function entropyThreshold(counts: Float64Array, width: number, levels: number): number {
  // Exact zeros (ReLU's spike) are represented exactly by any zero point; left in, they dominate
  // the divergence and push the threshold down to `levels` bins. Count them like their neighbour.
  const abs = Float64Array.from(counts);
  if (abs.length > 1) abs[0] = Math.min(abs[0], abs[1]);
  let last = abs.length;
  while (last > 0 && abs[last - 1] === 0) last--;
  if (last <= levels) return Math.max(last, 1) * width;
  let best = last;
  let bestDivergence = Infinity;
  const p = new Float64Array(last);
  const q = new Float64Array(last);
  for (let i = levels; i <= last; i++) {
    p.set(abs.subarray(0, i));
    let outliers = 0;
    for (let k = i; k < last; k++) outliers += abs[k];
    p[i - 1] += outliers;
    // Spread each of `levels` merged bins evenly over the non-empty source bins it covers.
    const per = i / levels;
    for (let j = 0; j < levels; j++) {
      const start = Math.floor(j * per);
      const end = j === levels - 1 ? i : Math.floor((j + 1) * per);
      let sum = 0;
      let nonZero = 0;
      for (let k = start; k < end; k++) {
        sum += abs[k];
        if (abs[k] !== 0) nonZero++;
      }
      for (let k = start; k < end; k++) q[k] = abs[k] !== 0 ? sum / nonZero : 0;
    }
    const divergence = klDivergence(p, q, i);
    if (divergence < bestDivergence) {
      bestDivergence = divergence;
      best = i;
    }
  }
  return best * width;
}

function klDivergence(p: Float64Array, q: Float64Array, n: number): number {
  let pSum = 0;
  let qSum = 0;
  for (let k = 0; k < n; k++) {
    pSum += p[k];
    qSum += q[k];
  }
  if (pSum === 0 || qSum === 0) return Infinity;
  let d = 0;
  for (let k = 0; k < n; k++) {
    if (p[k] === 0) continue;
    const pk = p[k] / pSum;
    const qk = q[k] / qSum;
    d += qk === 0 ? pk * 50 : pk * Math.log(pk / qk);
  }
  return d;
}
