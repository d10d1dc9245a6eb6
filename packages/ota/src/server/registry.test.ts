// Device selection for rollouts (pure) and the sidecar an export writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { selectDevices } from './registry.js';
import type { DeviceRecord } from './registry.js';
import { sidecarOf } from './sample-export.js';

const rec = (id: string, fleet: string, tags: string[]): DeviceRecord => ({ id, fleet, tags, createdAt: '' });
const records = [rec('a', 'default', ['lab']), rec('b', 'shop', ['lab', 'door']), rec('c', 'shop', [])];

describe('selectDevices', () => {
  it('selects by fleet, tag, explicit ids, or everything', () => {
    assert.deepEqual(selectDevices(records, { fleet: 'shop' }), ['b', 'c']);
    assert.deepEqual(selectDevices(records, { tag: 'lab' }), ['a', 'b']);
    assert.deepEqual(selectDevices(records, { devices: ['c', 'a', 'c'] }), ['a', 'c']);
    assert.deepEqual(selectDevices(records, {}), ['a', 'b', 'c']);
  });
  it('refuses unknown ids and more than one selector', () => {
    assert.throws(() => selectDevices(records, { devices: ['a', 'zz'] }), /unknown device\(s\): zz/);
    assert.throws(() => selectDevices(records, { fleet: 'shop', tag: 'lab' }), /at most one/);
  });
});

describe('sidecarOf', () => {
  it('maps an index entry to exactly the five sidecar fields', () => {
    const sidecar = sidecarOf({
      v: 1, id: 'x', sha256: 'f'.repeat(64), ts: '2026-11-28T12:00:00.000Z', contentType: 'image/jpeg', deviceId: 'cam-0', bytes: 10, receivedAt: '2026-11-28T12:00:01.000Z',
      meta: { model: { name: 'digits', version: 3 }, reasons: ['low-confidence', 'small-margin'], prediction: { task: 'classification', classIndex: 7 } },
    });
    assert.deepEqual(sidecar, { deviceId: 'cam-0', modelVersion: 3, reason: 'low-confidence,small-margin', prediction: { task: 'classification', classIndex: 7 }, capturedAt: '2026-11-28T12:00:00.000Z' });
    const bare = sidecarOf({ v: 1, id: 'y', sha256: 'e'.repeat(64), ts: 't', contentType: 'image/jpeg', deviceId: 'cam-1', bytes: 1, receivedAt: 't' });
    assert.deepEqual(bare, { deviceId: 'cam-1', modelVersion: null, reason: '', prediction: null, capturedAt: 't' });
  });
});
