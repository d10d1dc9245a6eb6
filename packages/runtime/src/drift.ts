// Drift: is the camera still seeing what the model was calibrated on? Rolling statistics of the
// preprocessed input and of the top-1 confidence, compared with the bundle's calibration stats.
//
// Two measures, both over a rolling window of the last `window` frames:
//  - Mean shift, per input channel: |live mean - calibration mean| / calibration std. The
//    calibration std is the per-element spread, so this is an effect size (how far the average
//    pixel moved, in units of pixel spread), not a z-test: with thousands of pixels per frame a
//    z-test on the mean flags every cloud. Default threshold 0.5 (e.g. a lens going dark, a camera
//    knocked towards the sky).
//  - PSI (population stability index) of the value histogram, when the calibration has one:
//    sum over bins of (p_live - p_cal) * ln(p_live / p_cal), bins as in the calibration (values
//    outside [min, max] count in the edge bins), probabilities floored at 1e-4. Rule of thumb:
//    < 0.1 stable, 0.1-0.25 moderate, > 0.25 shifted (the default threshold).
//  - Confidence: the live mean top-1 confidence against `calibration['@confidence']` (mean/std of
//    per-frame top-1 confidence on the calibration set) when the bundle has it, else against the
//    first `window` frames after start; a drop of more than `confidenceDrop` (default 0.15) drifts.
// A 'drift' event fires when the state turns drifted and 'recovered' when it turns back.

import { EventEmitter } from 'node:events';

import type { Calibration, TensorStats } from '@edgeloop/bundle';

export const CONFIDENCE_CALIBRATION_KEY = '@confidence';

export interface DriftOptions {
  /** Frames in the rolling window (default 300). */
  window?: number;
  /** No verdict before this many frames (default 50). */
  minFrames?: number;
  /** Re-evaluate every this many frames (default 25). */
  checkEvery?: number;
  meanShiftThreshold?: number;
  psiThreshold?: number;
  confidenceDrop?: number;
  /** Elements per channel read per frame at most (default 4096; the rest is strided over). */
  maxSamplesPerFrame?: number;
}

export interface TensorDrift {
  name: string;
  /** Per channel, in calibration std units. */
  meanShift: number[];
  liveMean: number[];
  psi?: number;
}

export interface DriftReport {
  frames: number;
  drifted: boolean;
  reasons: string[];
  tensors: TensorDrift[];
  confidence?: { reference: number; live: number; drop: number };
}

export interface DriftEvents {
  drift: [DriftReport];
  recovered: [DriftReport];
}

interface TensorWindow {
  stats: TensorStats;
  channels: number;
  /** Ring of per-frame channel means, window x channels. */
  means: Float64Array;
  sums: Float64Array;
  /** Ring of per-frame histograms, window x bins, and their running sum. */
  histograms?: Float64Array;
  histogramSum?: Float64Array;
  count: number;
  next: number;
}

export function populationStabilityIndex(expected: ArrayLike<number>, actual: ArrayLike<number>, floor = 1e-4): number {
  let expectedTotal = 0;
  let actualTotal = 0;
  for (let i = 0; i < expected.length; i++) {
    expectedTotal += expected[i];
    actualTotal += actual[i];
  }
  if (expectedTotal === 0 || actualTotal === 0) return 0;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = Math.max(floor, actual[i] / actualTotal);
    const q = Math.max(floor, expected[i] / expectedTotal);
    psi += (p - q) * Math.log(p / q);
  }
  return psi;
}

export class DriftMonitor extends EventEmitter<DriftEvents> {
  readonly #calibration: Calibration;
  readonly #window: number;
  readonly #minFrames: number;
  readonly #checkEvery: number;
  readonly #meanShiftThreshold: number;
  readonly #psiThreshold: number;
  readonly #confidenceDrop: number;
  readonly #maxSamples: number;
  readonly #tensors = new Map<string, TensorWindow>();
  readonly #confidences: Float64Array;
  #confidenceSum = 0;
  #confidenceCount = 0;
  #confidenceNext = 0;
  #confidenceReference: number | undefined;
  #referenceSum = 0;
  #referenceCount = 0;
  #frames = 0;
  #drifted = false;
  #last: DriftReport | undefined;

  constructor(calibration: Calibration | undefined, options: DriftOptions = {}) {
    super();
    this.#calibration = calibration ?? {};
    this.#window = Math.max(1, options.window ?? 300);
    this.#minFrames = options.minFrames ?? 50;
    this.#checkEvery = Math.max(1, options.checkEvery ?? 25);
    this.#meanShiftThreshold = options.meanShiftThreshold ?? 0.5;
    this.#psiThreshold = options.psiThreshold ?? 0.25;
    this.#confidenceDrop = options.confidenceDrop ?? 0.15;
    this.#maxSamples = options.maxSamplesPerFrame ?? 4096;
    this.#confidences = new Float64Array(this.#window);
    const reference = this.#calibration[CONFIDENCE_CALIBRATION_KEY];
    if (reference !== undefined && reference.mean.length > 0) this.#confidenceReference = reference.mean[0];
  }

  get drifted(): boolean {
    return this.#drifted;
  }

  get lastReport(): DriftReport | undefined {
    return this.#last;
  }

  /** Tensors with calibration stats this monitor can follow. */
  get calibratedTensors(): string[] {
    return Object.keys(this.#calibration).filter((k) => k !== CONFIDENCE_CALIBRATION_KEY);
  }

  /** One frame's preprocessed input (row-major, `layout` over `channels`); ignored when the tensor has no calibration stats. */
  observeInput(name: string, data: ArrayLike<number>, channels: number, layout: 'NCHW' | 'NHWC'): void {
    const w = this.#tensorWindow(name, channels);
    if (w === undefined) return;
    const c = w.channels;
    const perChannel = Math.floor(data.length / c);
    const stride = Math.max(1, Math.ceil(perChannel / this.#maxSamples));
    const slot = w.next;
    const hist = w.histograms?.subarray(slot * binsOf(w), (slot + 1) * binsOf(w));
    if (hist && w.histogramSum) {
      for (let b = 0; b < hist.length; b++) w.histogramSum[b] -= hist[b];
      hist.fill(0);
    }
    const h = w.stats.histogram;
    const bins = h ? h.counts.length : 0;
    const binScale = h && h.max > h.min ? bins / (h.max - h.min) : 0;
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      let n = 0;
      for (let i = 0; i < perChannel; i += stride) {
        const v = layout === 'NCHW' ? data[ch * perChannel + i] : data[i * c + ch];
        sum += v;
        n++;
        if (hist) {
          const bin = Math.min(bins - 1, Math.max(0, Math.floor((v - h!.min) * binScale)));
          hist[bin]++;
        }
      }
      const mean = n === 0 ? 0 : sum / n;
      const at = slot * c + ch;
      if (w.count === this.#window) w.sums[ch] -= w.means[at];
      w.means[at] = mean;
      w.sums[ch] += mean;
    }
    if (hist && w.histogramSum) for (let b = 0; b < hist.length; b++) w.histogramSum[b] += hist[b];
    w.count = Math.min(this.#window, w.count + 1);
    w.next = (slot + 1) % this.#window;
  }

  /** One frame's top-1 confidence. Also advances the frame count that drives periodic checks. */
  observeConfidence(confidence: number): void {
    if (!Number.isFinite(confidence)) return;
    if (this.#confidenceReference === undefined) {
      this.#referenceSum += confidence;
      this.#referenceCount++;
      if (this.#referenceCount >= this.#window) this.#confidenceReference = this.#referenceSum / this.#referenceCount;
      return;
    }
    if (this.#confidenceCount === this.#window) this.#confidenceSum -= this.#confidences[this.#confidenceNext];
    this.#confidences[this.#confidenceNext] = confidence;
    this.#confidenceSum += confidence;
    this.#confidenceCount = Math.min(this.#window, this.#confidenceCount + 1);
    this.#confidenceNext = (this.#confidenceNext + 1) % this.#window;
  }

  /** Call once per frame after the observations; evaluates every `checkEvery` frames and emits on state changes. */
  frameDone(): DriftReport | undefined {
    this.#frames++;
    if (this.#frames < this.#minFrames || this.#frames % this.#checkEvery !== 0) return undefined;
    const report = this.evaluate();
    if (report.drifted && !this.#drifted) {
      this.#drifted = true;
      this.emit('drift', report);
    } else if (!report.drifted && this.#drifted) {
      this.#drifted = false;
      this.emit('recovered', report);
    }
    return report;
  }

  evaluate(): DriftReport {
    const reasons: string[] = [];
    const tensors: TensorDrift[] = [];
    for (const [name, w] of this.#tensors) {
      if (w.count < Math.min(this.#minFrames, this.#window)) continue;
      const liveMean = Array.from(w.sums.subarray(0, w.channels), (s) => s / w.count);
      const meanShift = liveMean.map((m, ch) => {
        const mean = w.stats.mean.length === 1 ? w.stats.mean[0] : w.stats.mean[ch];
        const std = w.stats.std.length === 1 ? w.stats.std[0] : w.stats.std[ch];
        return std > 0 ? Math.abs(m - mean) / std : m === mean ? 0 : Infinity;
      });
      const drift: TensorDrift = { name, meanShift, liveMean };
      const worst = Math.max(...meanShift);
      if (worst > this.#meanShiftThreshold) reasons.push(`${name}: mean moved ${worst.toFixed(2)} std (threshold ${this.#meanShiftThreshold})`);
      if (w.histogramSum && w.stats.histogram) {
        drift.psi = populationStabilityIndex(w.stats.histogram.counts, w.histogramSum);
        if (drift.psi > this.#psiThreshold) reasons.push(`${name}: PSI ${drift.psi.toFixed(3)} (threshold ${this.#psiThreshold})`);
      }
      tensors.push(drift);
    }
    const report: DriftReport = { frames: this.#frames, drifted: reasons.length > 0, reasons, tensors };
    if (this.#confidenceReference !== undefined && this.#confidenceCount >= Math.min(this.#minFrames, this.#window)) {
      const live = this.#confidenceSum / this.#confidenceCount;
      const drop = this.#confidenceReference - live;
      report.confidence = { reference: this.#confidenceReference, live, drop };
      if (drop > this.#confidenceDrop) {
        reasons.push(`top-1 confidence fell from ${this.#confidenceReference.toFixed(3)} to ${live.toFixed(3)}`);
        report.drifted = true;
      }
    }
    this.#last = report;
    return report;
  }

  #tensorWindow(name: string, channels: number): TensorWindow | undefined {
    const existing = this.#tensors.get(name);
    if (existing) return existing;
    const stats = name === CONFIDENCE_CALIBRATION_KEY ? undefined : this.#calibration[name];
    if (stats === undefined) return undefined;
    const c = stats.mean.length > 1 ? stats.mean.length : Math.max(1, channels);
    const w: TensorWindow = { stats, channels: c, means: new Float64Array(this.#window * c), sums: new Float64Array(c), count: 0, next: 0 };
    if (stats.histogram && stats.histogram.counts.length > 0) {
      w.histograms = new Float64Array(this.#window * stats.histogram.counts.length);
      w.histogramSum = new Float64Array(stats.histogram.counts.length);
    }
    this.#tensors.set(name, w);
    return w;
  }
}

function binsOf(w: TensorWindow): number {
  return w.stats.histogram?.counts.length ?? 0;
}
