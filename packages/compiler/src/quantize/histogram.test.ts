import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivationHistogram } from './histogram.js';

function gaussian(n: number, seed: number): Float32Array {
  let s = seed;
  const rand = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s + 1) / 2147483649;
  };
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand()));
}

test('grows its range by merging bins and keeps exact min, max, mean and count', () => {
  const h = new ActivationHistogram(64);
  h.add(Float32Array.from([-0.5, 0.25, 0.5]));
  assert.equal(h.range, 0.5);
  h.add(Float32Array.from([3, -1]));
  assert.equal(h.range, 4);
  assert.equal(h.min, -1);
  assert.equal(h.max, 3);
  assert.equal(h.count, 5);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 5);
  assert.ok(Math.abs(h.mean - 2.25 / 5) < 1e-12);
  assert.deepEqual(h.quantizationRange({ method: 'minmax' }), [-1, 3]);
});

test('memory stays bounded however many batches are added', () => {
  const h = new ActivationHistogram(256);
  for (let i = 0; i < 50; i++) h.add(gaussian(10_000, i + 1));
  assert.equal(h.counts.length, 256);
  assert.equal(h.count, 500_000);
  assert.ok(Math.abs(h.std - 1) < 0.02, `std ${h.std}`);
});

test('percentile and entropy clip rare outliers that minmax keeps', () => {
  const h = new ActivationHistogram(2048);
  const data = gaussian(200_000, 7);
  data[0] = 60;
  data[1] = -40;
  h.add(data);
  const [, maxMinmax] = h.quantizationRange({ method: 'minmax' });
  const [lowP, highP] = h.quantizationRange({ method: 'percentile', percentile: 99.9 });
  const [lowE, highE] = h.quantizationRange({ method: 'entropy' });
  assert.equal(maxMinmax, 60);
  // 99.9% of |N(0,1)| lies within 3.29.
  assert.ok(highP > 3.1 && highP < 3.6, `percentile high ${highP}`);
  assert.equal(lowP, -highP);
  assert.ok(highE > 2 && highE < 20, `entropy high ${highE}`);
  assert.ok(lowE < 0);
});

test('entropy keeps the full range of a ReLU6 output despite its spike of zeros', () => {
  const h = new ActivationHistogram(2048);
  h.add(Float32Array.from(gaussian(100_000, 3), (v) => Math.min(6, Math.max(0, v * 2))));
  const [low, high] = h.quantizationRange({ method: 'entropy', quantizedBins: 255 });
  assert.equal(low, 0);
  assert.ok(high > 4, `entropy high ${high}`);
});

test('entropy chooses each side of an asymmetric distribution on its own', () => {
  // Like a normalized MNIST input: most values at the background -0.424, strokes spread up to
  // 2.821 with a spike of saturated pixels there.
  const h = new ActivationHistogram(2048);
  const data = new Float32Array(100_000);
  for (let i = 0; i < data.length; i++) {
    const r = i % 10;
    data[i] = r < 8 ? -0.424 : r === 8 ? 2.821 : -0.424 + ((i * 7919) % 1000) / 1000 * 3.245;
  }
  h.add(data);
  const [low, high] = h.quantizationRange({ method: 'entropy' });
  assert.ok(Math.abs(low + 0.424) < 0.01, `entropy low ${low}`);
  assert.ok(high > 2.7, `entropy high ${high}`);
});
