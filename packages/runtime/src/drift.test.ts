import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Calibration } from '@edgeloop/bundle';

import { DriftMonitor, populationStabilityIndex, type DriftReport } from './drift.js';

/** Calibration of an RGB input whose values are uniform in [0, 1]: mean 0.5, std 1/sqrt(12), 10 flat bins. */
const calibration: Calibration = {
  image: { mean: [0.5, 0.5, 0.5], std: [0.2887, 0.2887, 0.2887], min: 0, max: 1, histogram: { min: 0, max: 1, counts: Array(10).fill(1000) } },
  '@confidence': { mean: [0.9], std: [0.05], min: 0, max: 1 },
};

function frame(seed: number, transform: (v: number) => number = (v) => v): Float32Array {
  const data = new Float32Array(3 * 16 * 16);
  let s = seed * 7919 + 1;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = transform(s / 0x7fffffff);
  }
  return data;
}

void describe('DriftMonitor', () => {
  void it('stays quiet on in-distribution frames and fires once when the input darkens, then recovers', () => {
    const monitor = new DriftMonitor(calibration, { window: 50, minFrames: 20, checkEvery: 10 });
    const events: [string, DriftReport][] = [];
    monitor.on('drift', (r) => events.push(['drift', r]));
    monitor.on('recovered', (r) => events.push(['recovered', r]));
    let seed = 0;
    const feed = (count: number, transform?: (v: number) => number, confidence = 0.9): void => {
      for (let i = 0; i < count; i++) {
        monitor.observeInput('image', frame(seed++, transform), 3, 'NCHW');
        monitor.observeConfidence(confidence);
        monitor.frameDone();
      }
    };
    feed(60);
    assert.equal(events.length, 0);
    const healthy = monitor.evaluate();
    assert.ok(healthy.tensors[0].psi! < 0.05, `psi ${healthy.tensors[0].psi}`);
    assert.ok(Math.max(...healthy.tensors[0].meanShift) < 0.1);

    feed(60, (v) => v * 0.3); // lens going dark: values squeezed into [0, 0.3]
    assert.equal(events.length, 1);
    const [kind, report] = events[0];
    assert.equal(kind, 'drift');
    assert.ok(report.tensors[0].psi! > 0.25);
    assert.ok(report.reasons.some((r) => /image: PSI/.test(r)));
    // Once the window is all dark, every channel's mean has moved by more than the threshold.
    const dark = monitor.evaluate();
    assert.ok(dark.tensors[0].meanShift.every((d) => d > 1), JSON.stringify(dark.tensors[0].meanShift));
    assert.ok(dark.reasons.some((r) => /image: mean moved/.test(r)));

    feed(60);
    assert.deepEqual(events.map((e) => e[0]), ['drift', 'recovered']);
  });

  void it('flags a drop in confidence against the calibration, or against the first window without one', () => {
    const withRef = new DriftMonitor(calibration, { window: 20, minFrames: 20, checkEvery: 5 });
    for (let i = 0; i < 40; i++) {
      withRef.observeConfidence(0.6);
      withRef.frameDone();
    }
    const report = withRef.evaluate();
    assert.equal(report.drifted, true);
    assert.ok(Math.abs(report.confidence!.drop - 0.3) < 1e-9);

    const selfRef = new DriftMonitor(undefined, { window: 20, minFrames: 20, checkEvery: 5 });
    for (let i = 0; i < 40; i++) {
      selfRef.observeConfidence(0.95);
      selfRef.frameDone();
    }
    assert.equal(selfRef.evaluate().drifted, false);
    for (let i = 0; i < 20; i++) selfRef.observeConfidence(0.7);
    const dropped = selfRef.evaluate();
    assert.equal(dropped.drifted, true);
    assert.ok(Math.abs(dropped.confidence!.reference - 0.95) < 1e-9);
  });

  void it('computes PSI like the textbook formula', () => {
    assert.equal(populationStabilityIndex([1, 1], [1, 1]), 0);
    const psi = populationStabilityIndex([50, 50], [80, 20]);
    const expected = (0.8 - 0.5) * Math.log(0.8 / 0.5) + (0.2 - 0.5) * Math.log(0.2 / 0.5);
    assert.ok(Math.abs(psi - expected) < 1e-12);
  });
});
