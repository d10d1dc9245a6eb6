import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { testImage } from './bundles.test.helpers.js';
import type { Uncertainty } from './prediction.js';
import { FieldSampler, TokenBucket, dHash, hammingDistance } from './sampler.js';

const sure = (classIndex: number): Uncertainty => ({ confidence: 0.97, margin: 0.95, normalizedEntropy: 0.05, classIndex });
const unsure = (classIndex: number): Uncertainty => ({ confidence: 0.4, margin: 0.05, normalizedEntropy: 0.9, classIndex });

/** Distinct-looking images: each a different random pattern. */
async function distinctImages(count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let state = 12345;
  for (let k = 0; k < count; k++) {
    const raw = Buffer.alloc(32 * 32);
    for (let i = 0; i < raw.length; i++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      raw[i] = state >> 23;
    }
    out.push(await sharp(raw, { raw: { width: 32, height: 32, channels: 1 } }).png().toBuffer());
  }
  return out;
}

void describe('dHash', () => {
  void it('is stable under re-encoding and resizing, and far apart for different images', async () => {
    const png = await testImage(1, 'png', 64, 48);
    const jpeg = await sharp(png).jpeg({ quality: 60 }).toBuffer();
    const small = await sharp(png).resize(32, 24).png().toBuffer();
    const [a, b, c] = await Promise.all([dHash(png), dHash(jpeg), dHash(small)]);
    assert.ok(hammingDistance(a, b) <= 4, `jpeg: ${hammingDistance(a, b)}`);
    assert.ok(hammingDistance(a, c) <= 6, `resized: ${hammingDistance(a, c)}`);
    const [x, y] = await Promise.all((await distinctImages(2)).map((img) => dHash(img)));
    assert.ok(hammingDistance(x, y) > 16, `distinct: ${hammingDistance(x, y)}`);
    assert.equal(hammingDistance(0n, 0xffn), 8);
  });
});

void describe('FieldSampler', () => {
  void it('takes uncertain frames with their reasons and a random baseline of confident ones', async () => {
    let r = 0;
    const randoms = [0.5, 0.001];
    const sampler = new FieldSampler({ baselineRate: 0.01, random: () => randoms[r++ % 2], ratePerMinute: 0, dedupe: false, classBalance: false });
    const images = await distinctImages(3);
    const first = await sampler.consider(images[0], unsure(1));
    assert.deepEqual(first, { take: true, reasons: ['low-confidence', 'small-margin', 'high-entropy'] });
    assert.deepEqual(await sampler.consider(images[1], sure(1)), { take: false, reasons: [], rejectedBy: 'not-interesting' });
    assert.deepEqual(await sampler.consider(images[2], sure(1)), { take: true, reasons: ['baseline'] });
    assert.equal(sampler.stats.taken, 2);
    assert.equal(sampler.stats.byReason.baseline, 1);
  });

  void it('suppresses near-duplicates of recent samples', async () => {
    const sampler = new FieldSampler({ ratePerMinute: 0, classBalance: false, baselineRate: 0 });
    const png = await testImage(4, 'png', 64, 48);
    const again = await sharp(png).jpeg({ quality: 70 }).toBuffer();
    assert.equal((await sampler.consider(png, unsure(0))).take, true);
    const dup = await sampler.consider(again, unsure(0));
    assert.equal(dup.take, false);
    assert.equal(dup.rejectedBy, 'duplicate');
    const [other] = await distinctImages(1);
    assert.equal((await sampler.consider(other, unsure(0))).take, true);
  });

  void it('keeps one class from filling the samples', async () => {
    const sampler = new FieldSampler({ ratePerMinute: 0, dedupe: false, baselineRate: 0, classBalance: { window: 20, maxShare: 0.5 } });
    const [img] = await distinctImages(1);
    const decisions = [];
    for (let i = 0; i < 10; i++) decisions.push(await sampler.consider(img, unsure(i % 2 === 0 ? 0 : 1)));
    assert.ok(decisions.every((d) => d.take), 'balanced classes pass');
    // Now class 0 only: it may reach half of the window, not more.
    let taken = 0;
    for (let i = 0; i < 10; i++) if ((await sampler.consider(img, unsure(0))).take) taken++;
    assert.ok(taken < 10);
    assert.ok(sampler.stats.rejected['class-balance'] > 0);
  });

  void it('rate-limits with a token bucket: a burst, then the sustained rate', async () => {
    let now = 0;
    const sampler = new FieldSampler({ ratePerMinute: 60, burst: 3, dedupe: false, classBalance: false, now: () => now });
    const [img] = await distinctImages(1);
    const burst = [];
    for (let i = 0; i < 5; i++) burst.push((await sampler.consider(img, unsure(0))).take);
    assert.deepEqual(burst, [true, true, true, false, false]);
    now += 1000; // one token per second
    assert.equal((await sampler.consider(img, unsure(0))).take, true);
    assert.equal((await sampler.consider(img, unsure(0))).rejectedBy, 'rate-limit');
    const bucket = new TokenBucket(6, 2, 0);
    assert.equal(bucket.tryTake(0) && bucket.tryTake(0), true);
    assert.equal(bucket.tryTake(5_000), false);
    assert.equal(bucket.tryTake(10_000), true);
  });

  void it('counts frames it cannot hash instead of throwing', async () => {
    const sampler = new FieldSampler({ ratePerMinute: 0, classBalance: false });
    const decision = await sampler.consider(new Uint8Array([1, 2, 3]), unsure(0));
    assert.equal(decision.rejectedBy, 'hash-failed');
  });
});
