// The field sampler: which frames are worth sending home for labelling. Uncertain frames (low
// top-1 confidence, small top1-top2 margin, high entropy) teach the next student the most; a small
// random baseline keeps an unbiased picture of what the camera sees. Then three brakes: per-class
// balance (a camera staring at one class must not fill the spool with it), a token-bucket rate
// limit (uplink and disk are scarce), and near-duplicate suppression with a perceptual hash (a
// parked car is one sample, not ten thousand).

import sharp from 'sharp';

import type { Uncertainty } from './prediction.js';

export type SampleReason = 'low-confidence' | 'small-margin' | 'high-entropy' | 'baseline';
export type SampleRejection = 'not-interesting' | 'class-balance' | 'rate-limit' | 'duplicate' | 'hash-failed';

export interface SamplerOptions {
  /** Take when top-1 confidence is below this (default 0.5). */
  lowConfidence?: number;
  /** Take when top1 - top2 is below this (default 0.1). */
  minMargin?: number;
  /** Take when normalised entropy (0..1) is above this (default 0.8). */
  maxNormalizedEntropy?: number;
  /** Fraction of all frames taken at random whatever their uncertainty (default 0.005). */
  baselineRate?: number;
  /** Token bucket: sustained samples per minute (default 6) and burst size (default 10). 0 disables the limit. */
  ratePerMinute?: number;
  burst?: number;
  /** Among the last `window` samples taken, one class may hold at most `maxShare` (default 100 and 0.5). */
  classBalance?: { window?: number; maxShare?: number } | false;
  /** Frames whose dHash is within `maxDistance` bits of one of the last `window` samples taken are duplicates (default 6 and 256). */
  dedupe?: { maxDistance?: number; window?: number } | false;
  random?: () => number;
  now?: () => number;
}

export interface SampleDecision {
  take: boolean;
  reasons: SampleReason[];
  rejectedBy?: SampleRejection;
  /** 64-bit dHash of the frame when it was computed. */
  hash?: bigint;
}

export interface SamplerStats {
  considered: number;
  taken: number;
  rejected: Record<SampleRejection, number>;
  byReason: Record<SampleReason, number>;
}

/** Token bucket; `now` in ms. */
export class TokenBucket {
  readonly ratePerMs: number;
  readonly capacity: number;
  #tokens: number;
  #last: number;

  constructor(ratePerMinute: number, burst: number, now: number) {
    this.ratePerMs = ratePerMinute / 60_000;
    this.capacity = Math.max(1, burst);
    this.#tokens = this.capacity;
    this.#last = now;
  }

  available(now: number): number {
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#last) * this.ratePerMs);
    this.#last = now;
    return this.#tokens;
  }

  tryTake(now: number): boolean {
    if (this.available(now) < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * Difference hash: grey 9x8 thumbnail, one bit per horizontally adjacent pair (left brighter than
 * right). Robust to scaling, compression and small brightness changes; 64 bits compare by Hamming
 * distance.
 */
export async function dHash(image: Uint8Array | { data: Uint8Array; width: number; height: number; channels: 1 | 3 | 4 }): Promise<bigint> {
  const input = image instanceof Uint8Array ? sharp(image) : sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
  const pixels = await input.greyscale().resize(9, 8, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      hash = (hash << 1n) | (pixels[y * 9 + x] > pixels[y * 9 + x + 1] ? 1n : 0n);
    }
  }
  return hash;
}

export function hammingDistance(a: bigint, b: bigint): number {
  let x = a ^ b;
  let count = 0;
  while (x !== 0n) {
    x &= x - 1n;
    count++;
  }
  return count;
}

export class FieldSampler {
  readonly stats: SamplerStats = {
    considered: 0,
    taken: 0,
    rejected: { 'not-interesting': 0, 'class-balance': 0, 'rate-limit': 0, duplicate: 0, 'hash-failed': 0 },
    byReason: { 'low-confidence': 0, 'small-margin': 0, 'high-entropy': 0, baseline: 0 },
  };
  readonly #options: Required<Pick<SamplerOptions, 'lowConfidence' | 'minMargin' | 'maxNormalizedEntropy' | 'baselineRate'>>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #bucket: TokenBucket | undefined;
  readonly #balance: { window: number; maxShare: number } | undefined;
  readonly #dedupe: { maxDistance: number; window: number } | undefined;
  readonly #recentClasses: number[] = [];
  readonly #recentHashes: bigint[] = [];

  constructor(options: SamplerOptions = {}) {
    this.#options = {
      lowConfidence: options.lowConfidence ?? 0.5,
      minMargin: options.minMargin ?? 0.1,
      maxNormalizedEntropy: options.maxNormalizedEntropy ?? 0.8,
      baselineRate: options.baselineRate ?? 0.005,
    };
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    const rate = options.ratePerMinute ?? 6;
    this.#bucket = rate > 0 ? new TokenBucket(rate, options.burst ?? 10, this.#now()) : undefined;
    this.#balance = options.classBalance === false ? undefined : { window: options.classBalance?.window ?? 100, maxShare: options.classBalance?.maxShare ?? 0.5 };
    this.#dedupe = options.dedupe === false ? undefined : { maxDistance: options.dedupe?.maxDistance ?? 6, window: options.dedupe?.window ?? 256 };
  }

  /** Why this prediction is interesting (empty: it is not). Pure; no state changes. */
  reasonsFor(uncertainty: Uncertainty | undefined): SampleReason[] {
    const reasons: SampleReason[] = [];
    if (uncertainty !== undefined) {
      if (uncertainty.confidence < this.#options.lowConfidence) reasons.push('low-confidence');
      if (uncertainty.margin !== undefined && uncertainty.margin < this.#options.minMargin) reasons.push('small-margin');
      if (uncertainty.normalizedEntropy !== undefined && uncertainty.normalizedEntropy > this.#options.maxNormalizedEntropy) reasons.push('high-entropy');
    }
    if (reasons.length === 0 && this.#options.baselineRate > 0 && this.#random() < this.#options.baselineRate) reasons.push('baseline');
    return reasons;
  }

  /**
   * Decides on one frame. The cheap checks run first; the perceptual hash (a sharp resize) only for
   * frames that passed them, and a token is spent only on a frame actually taken.
   */
  async consider(frame: Parameters<typeof dHash>[0], uncertainty: Uncertainty | undefined): Promise<SampleDecision> {
    this.stats.considered++;
    const reasons = this.reasonsFor(uncertainty);
    if (reasons.length === 0) return this.#reject(reasons, 'not-interesting');
    const classIndex = uncertainty?.classIndex;
    if (this.#balance && classIndex !== undefined && this.#recentClasses.length >= 10) {
      const same = this.#recentClasses.filter((c) => c === classIndex).length;
      if ((same + 1) / (this.#recentClasses.length + 1) > this.#balance.maxShare) return this.#reject(reasons, 'class-balance');
    }
    if (this.#bucket && this.#bucket.available(this.#now()) < 1) return this.#reject(reasons, 'rate-limit');
    let hash: bigint | undefined;
    if (this.#dedupe) {
      try {
        hash = await dHash(frame);
      } catch {
        return this.#reject(reasons, 'hash-failed');
      }
      const { maxDistance } = this.#dedupe;
      if (this.#recentHashes.some((h) => hammingDistance(h, hash!) <= maxDistance)) return this.#reject(reasons, 'duplicate', hash);
    }
    // Re-check: another frame may have spent the last token while this one was being hashed.
    if (this.#bucket && !this.#bucket.tryTake(this.#now())) return this.#reject(reasons, 'rate-limit', hash);
    this.stats.taken++;
    for (const reason of reasons) this.stats.byReason[reason]++;
    if (this.#balance && classIndex !== undefined) pushBounded(this.#recentClasses, classIndex, this.#balance.window);
    if (this.#dedupe && hash !== undefined) pushBounded(this.#recentHashes, hash, this.#dedupe.window);
    return hash === undefined ? { take: true, reasons } : { take: true, reasons, hash };
  }

  #reject(reasons: SampleReason[], rejectedBy: SampleRejection, hash?: bigint): SampleDecision {
    this.stats.rejected[rejectedBy]++;
    return hash === undefined ? { take: false, reasons, rejectedBy } : { take: false, reasons, rejectedBy, hash };
  }
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}
