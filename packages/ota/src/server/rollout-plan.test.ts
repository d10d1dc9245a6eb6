// The rollout planner without I/O (STYLE item 6): waves, thresholds, time-outs and halting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decideRollout, nextTimeoutIn, planWaves, resolveAmount } from './rollout-plan.js';
import type { DeviceOutcome, RolloutProgress } from './rollout-plan.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `dev-${String(i).padStart(2, '0')}`);

function progress(waves: string[][], wave: number, outcomes: Record<string, DeviceOutcome>): RolloutProgress {
  return { waves, wave, outcomes };
}

describe('resolveAmount', () => {
  it('reads percentages (rounded down) and counts', () => {
    assert.equal(resolveAmount('20%', 10), 2);
    assert.equal(resolveAmount('25%', 10), 2);
    assert.equal(resolveAmount('10%', 3), 0);
    assert.equal(resolveAmount('10%', 3, true), 1);
    assert.equal(resolveAmount('0%', 3, true), 0);
    assert.equal(resolveAmount('3', 10), 3);
    assert.equal(resolveAmount(12, 10), 10);
    assert.equal(resolveAmount('100%', 7), 7);
  });
  it('refuses nonsense', () => {
    assert.throws(() => resolveAmount('ten', 10), RangeError);
    assert.throws(() => resolveAmount('150%', 10), RangeError);
    assert.throws(() => resolveAmount('-1', 10), RangeError);
  });
});

describe('planWaves', () => {
  it('puts the canary first and doubles the waves after it', () => {
    assert.deepEqual(planWaves(ids(10), { canary: '10%' }).map((w) => w.length), [1, 2, 4, 3]);
    assert.deepEqual(planWaves(ids(10), { canary: '20%' }).map((w) => w.length), [2, 4, 4]);
    assert.deepEqual(planWaves(ids(3)).map((w) => w.length), [1, 2]);
    assert.deepEqual(planWaves(ids(1)), [['dev-00']]);
    assert.deepEqual(planWaves([]), []);
  });
  it('keeps every device exactly once, in order', () => {
    const devices = ids(37);
    assert.deepEqual(planWaves(devices, { canary: '5%', growth: 3 }).flat(), devices);
  });
  it('a 100% canary is one wave; growth 1 gives equal waves', () => {
    assert.equal(planWaves(ids(5), { canary: '100%' }).length, 1);
    assert.deepEqual(planWaves(ids(6), { canary: '2', growth: 1 }).map((w) => w.length), [2, 3, 1]);
  });
});

describe('decideRollout', () => {
  const waves = planWaves(ids(10), { canary: '10%' });
  const opts = { maxFailures: '20%', waveTimeoutMs: 1000 };

  it('starts the canary, waits for it, then starts the next wave', () => {
    assert.deepEqual(decideRollout(progress(waves, -1, {}), opts, 0), { action: 'start-wave', wave: 0, devices: ['dev-00'] });
    assert.deepEqual(decideRollout(progress(waves, 0, { 'dev-00': { state: 'assigned', at: 0 } }), opts, 10), { action: 'wait', pending: ['dev-00'] });
    assert.deepEqual(decideRollout(progress(waves, 0, { 'dev-00': { state: 'succeeded', at: 5 } }), opts, 10), { action: 'start-wave', wave: 1, devices: ['dev-01', 'dev-02'] });
  });

  it('counts silence past the timeout as failure', () => {
    const p = progress(waves, 1, { 'dev-00': { state: 'succeeded', at: 5 }, 'dev-01': { state: 'assigned', at: 100 }, 'dev-02': { state: 'succeeded', at: 150 } });
    assert.equal(decideRollout(p, opts, 1099).action, 'wait');
    assert.equal(nextTimeoutIn(p, opts, 600), 500);
    assert.deepEqual(decideRollout(p, opts, 1100), { action: 'time-out', devices: ['dev-01'] });
  });

  it('tolerates failures up to the threshold and halts beyond it, leaving later waves unreached', () => {
    const outcomes: Record<string, DeviceOutcome> = { 'dev-00': { state: 'succeeded', at: 1 }, 'dev-01': { state: 'succeeded', at: 1 }, 'dev-02': { state: 'succeeded', at: 1 } };
    for (const id of ['dev-03', 'dev-04', 'dev-05', 'dev-06']) outcomes[id] = { state: 'assigned', at: 2 };
    outcomes['dev-03'] = { state: 'failed', at: 3, reason: 'HEALTHCHECK_FAILED' };
    outcomes['dev-04'] = { state: 'failed', at: 3, reason: 'HEALTHCHECK_FAILED' };
    // 2 failures of 10 = 20%: not more than allowed, keep waiting for the wave.
    assert.equal(decideRollout(progress(waves, 2, outcomes), opts, 4).action, 'wait');
    outcomes['dev-05'] = { state: 'failed', at: 4, reason: 'HEALTHCHECK_FAILED' };
    // The third failure halts at once, even with dev-06 still in flight.
    assert.deepEqual(decideRollout(progress(waves, 2, outcomes), opts, 5), { action: 'halt', failed: 3, allowed: 2, unreached: ['dev-07', 'dev-08', 'dev-09'] });
  });

  it('is done when the last wave finished', () => {
    const outcomes: Record<string, DeviceOutcome> = {};
    for (const id of ids(10)) outcomes[id] = { state: 'succeeded', at: 1 };
    outcomes['dev-09'] = { state: 'failed', at: 1, reason: 'timeout' };
    assert.deepEqual(decideRollout(progress(waves, 3, outcomes), opts, 2), { action: 'done', succeeded: 9, failed: 1 });
  });

  it('maxFailures 0 halts on the first failure (the canary)', () => {
    const p = progress(waves, 0, { 'dev-00': { state: 'failed', at: 1, reason: 'x' } });
    const d = decideRollout(p, { maxFailures: '0', waveTimeoutMs: 1000 }, 2);
    assert.equal(d.action, 'halt');
    assert.equal(d.action === 'halt' ? d.unreached.length : -1, 9);
  });
});
