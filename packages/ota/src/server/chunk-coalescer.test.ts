// Request coalescing decisions with a fake clock (no broker): which requests get a copy sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ChunkCoalescer } from './chunk-coalescer.js';

const SHA = 'a'.repeat(64);
const TOTAL = 40;

function setup(windowMs = 2000): { coalescer: ChunkCoalescer; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { coalescer: new ChunkCoalescer({ windowMs, now: () => clock.t }), clock };
}

describe('ChunkCoalescer', () => {
  it('sends a chunk once for many devices asking within the window', () => {
    const { coalescer, clock } = setup();
    let sent = 0;
    for (let device = 0; device < 50; device++) {
      clock.t += 10;
      for (let index = 0; index < 8; index++) if (coalescer.shouldSend(`dev-${device}`, SHA, TOTAL, index)) sent++;
    }
    assert.equal(sent, 8);
  });

  it('answers a device that asks again after its timeout (it missed the shared copy)', () => {
    const { coalescer, clock } = setup(2000);
    assert.equal(coalescer.shouldSend('a', SHA, TOTAL, 0), true);
    clock.t += 50;
    assert.equal(coalescer.shouldSend('late', SHA, TOTAL, 0), false, 'first ask: the copy just sent covers it');
    clock.t += 5000;
    assert.equal(coalescer.shouldSend('late', SHA, TOTAL, 0), true, 'asked again, no newer copy: send');
  });

  it('answers a repeated request at once when no copy was sent after it (a bad copy), even inside the window', () => {
    const { coalescer, clock } = setup(60_000);
    assert.equal(coalescer.shouldSend('a', SHA, TOTAL, 3), true);
    clock.t += 100; // the copy failed its hash; the device asks again after a short backoff
    assert.equal(coalescer.shouldSend('a', SHA, TOTAL, 3), true);
    clock.t += 10;
    assert.equal(coalescer.shouldSend('b', SHA, TOTAL, 3), false);
    clock.t += 100;
    assert.equal(coalescer.shouldSend('b', SHA, TOTAL, 3), true, 'b asks again and no copy was sent after its first ask: send');
  });

  it('coalesces repeated requests onto a newer copy another device caused', () => {
    const { coalescer, clock } = setup(2000);
    assert.equal(coalescer.shouldSend('a', SHA, TOTAL, 5), true);
    assert.equal(coalescer.shouldSend('b', SHA, TOTAL, 5), false);
    clock.t += 5000; // both time out
    assert.equal(coalescer.shouldSend('a', SHA, TOTAL, 5), true);
    clock.t += 20;
    assert.equal(coalescer.shouldSend('b', SHA, TOTAL, 5), false, "a's fresh copy reaches b too");
  });

  it('serves a lone late device at once, and a device whose copy is older than the window', () => {
    const { coalescer, clock } = setup(2000);
    for (let index = 0; index < TOTAL; index++) assert.equal(coalescer.shouldSend('early', SHA, TOTAL, index), true);
    clock.t += 2001;
    for (let index = 0; index < TOTAL; index++) assert.equal(coalescer.shouldSend('late', SHA, TOTAL, index), true);
  });

  it('does not count copies sent before a device reconnected', () => {
    const { coalescer, clock } = setup(2000);
    assert.equal(coalescer.shouldSend('a', SHA, TOTAL, 1), true);
    clock.t += 10;
    coalescer.reconnected('b');
    clock.t += 10;
    assert.equal(coalescer.shouldSend('b', SHA, TOTAL, 1), true);
    clock.t += 10;
    assert.equal(coalescer.shouldSend('c', SHA, TOTAL, 1), false);
  });

  it('sends everything with a zero window, keeps bundles apart, and forgets devices', () => {
    const { coalescer } = setup(0);
    assert.equal(coalescer.shouldSend('a', SHA, TOTAL, 0), true);
    assert.equal(coalescer.shouldSend('b', SHA, TOTAL, 0), true);
    const other = setup(2000).coalescer;
    assert.equal(other.shouldSend('a', SHA, TOTAL, 0), true);
    assert.equal(other.shouldSend('b', 'b'.repeat(64), TOTAL, 0), true);
    assert.equal(other.trackedDevices, 2);
    other.forget('a');
    assert.equal(other.trackedDevices, 1);
  });
});
