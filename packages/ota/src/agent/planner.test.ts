import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { DesiredState } from '../schemas.js';
import { admission, planSteps } from './planner.js';
import type { DeviceSnapshot, PersistedState, SlotContent } from './planner.js';

const sha = (c: string): string => c.repeat(64);
const content = (c: string, version: number, targetProfile = 'raspberry-pi-4'): SlotContent => ({ sha256: sha(c), version, targetProfile });
const desired = (c: string, version: number, targetProfile = 'raspberry-pi-4'): DesiredState => ({
  v: 1,
  bundle: { sha256: sha(c), size: 1000, version, targetProfile },
  transfer: { chunkBytes: 1024, chunkSha256: [sha('f')] },
});
const fresh: PersistedState = { highestAccepted: -1, trial: null, refused: [] };
const empty: DeviceSnapshot = { profile: 'raspberry-pi-4', activeSlot: null, slots: { a: null, b: null } };
const runningV1: DeviceSnapshot = { profile: 'raspberry-pi-4', activeSlot: 'a', slots: { a: content('1', 1), b: null } };
const acceptedV1: PersistedState = { highestAccepted: 1, trial: null, refused: [] };

const kinds = (steps: { kind: string }[]): string[] => steps.map((s) => s.kind);

describe('planSteps', () => {
  it('installs into slot a on a fresh device', () => {
    const steps = planSteps(empty, desired('2', 2), fresh);
    assert.deepEqual(kinds(steps), ['download', 'verify', 'stage', 'healthcheck', 'activate']);
    assert.deepEqual(steps.filter((s) => 'slot' in s).map((s) => (s as { slot: string }).slot), ['a', 'a', 'a']);
  });

  it('stages an upgrade into the inactive slot', () => {
    const steps = planSteps(runningV1, desired('2', 2), acceptedV1);
    assert.deepEqual(kinds(steps), ['download', 'verify', 'stage', 'healthcheck', 'activate']);
    assert.equal((steps[2] as { slot: string }).slot, 'b');
    assert.equal(steps[0].kind === 'download' && steps[0].transfer.chunkBytes, 1024);
  });

  it('does nothing when the desired bundle is active, or when nothing is desired', () => {
    assert.deepEqual(planSteps(runningV1, desired('1', 1), acceptedV1), []);
    assert.deepEqual(planSteps(runningV1, null, acceptedV1), []);
    assert.deepEqual(planSteps(runningV1, { v: 1, bundle: null }, acceptedV1), []);
  });

  it('skips the download when the inactive slot already holds the bundle', () => {
    const snapshot: DeviceSnapshot = { ...runningV1, slots: { a: content('1', 1), b: content('2', 2) } };
    assert.deepEqual(kinds(planSteps(snapshot, desired('2', 2), acceptedV1)), ['healthcheck', 'activate']);
  });

  it('never stages into the active slot, whichever it is', () => {
    const onB: DeviceSnapshot = { profile: 'raspberry-pi-4', activeSlot: 'b', slots: { a: content('0', 0), b: content('1', 1) } };
    const steps = planSteps(onB, desired('2', 2), acceptedV1);
    assert.equal((steps.find((s) => s.kind === 'stage') as { slot: string }).slot, 'a');
  });

  it('refuses versions that are not higher than the highest accepted (anti-rollback)', () => {
    assert.deepEqual(planSteps(runningV1, desired('0', 0), acceptedV1), []);
    assert.deepEqual(planSteps(runningV1, desired('9', 1), acceptedV1), []);
    assert.equal(admission(runningV1, desired('9', 1), acceptedV1)?.code, 'VERSION_NOT_HIGHER');
    // Even the previous bundle still sitting in the inactive slot.
    const snapshot: DeviceSnapshot = { profile: 'raspberry-pi-4', activeSlot: 'b', slots: { a: content('1', 1), b: content('2', 2) } };
    assert.deepEqual(planSteps(snapshot, desired('1', 1), { ...acceptedV1, highestAccepted: 2 }), []);
  });

  it('refuses bundles for another profile', () => {
    assert.deepEqual(planSteps(runningV1, desired('2', 2, 'jetson-orin-nano'), acceptedV1), []);
    assert.equal(admission(runningV1, desired('2', 2, 'jetson-orin-nano'), acceptedV1)?.code, 'PROFILE_MISMATCH');
  });

  it('does not retry a bundle it refused for good', () => {
    const refused: PersistedState = { ...acceptedV1, refused: [{ sha256: sha('2'), code: 'SIGNATURE_INVALID' }] };
    assert.deepEqual(planSteps(runningV1, desired('2', 2), refused), []);
    assert.equal(admission(runningV1, desired('2', 2), refused)?.code, 'REFUSED_BEFORE');
    assert.equal(admission(runningV1, desired('3', 3), refused), null);
  });

  it('needs a transfer descriptor to download', () => {
    const { transfer: _dropped, ...noTransfer } = desired('2', 2);
    assert.deepEqual(planSteps(runningV1, noTransfer, acceptedV1), []);
    assert.equal(admission(runningV1, noTransfer, acceptedV1)?.code, 'TRANSFER_DESCRIPTOR');
  });

  it('rolls back an uncommitted activation before anything else', () => {
    const trial: PersistedState = { ...acceptedV1, trial: { from: 'a', to: 'b', sha256: sha('2') } };
    const snapshot: DeviceSnapshot = { profile: 'raspberry-pi-4', activeSlot: 'b', slots: { a: content('1', 1), b: content('2', 2) } };
    const steps = planSteps(snapshot, desired('3', 3), trial);
    assert.deepEqual(steps, [{ kind: 'rollback', from: 'b', to: 'a', sha256: sha('2'), reason: 'activation was not committed' }]);
    // Also on a first install that never committed: back to nothing.
    const first = planSteps({ ...empty, activeSlot: 'a' }, null, { ...fresh, trial: { from: null, to: 'a', sha256: sha('1') } });
    assert.deepEqual(kinds(first), ['rollback']);
    assert.equal(first[0].kind === 'rollback' && first[0].to, null);
  });

  it('is pure: the inputs are not modified', () => {
    const snapshot = structuredClone(runningV1);
    const persisted = structuredClone(acceptedV1);
    const want = desired('2', 2);
    const copy = structuredClone(want);
    planSteps(snapshot, want, persisted);
    assert.deepEqual(snapshot, runningV1);
    assert.deepEqual(persisted, acceptedV1);
    assert.deepEqual(want, copy);
  });
});

describe('explicit rollback (§rollback)', () => {
  // Running v2 in slot b, v1 still in slot a; anti-rollback says 2.
  const runningV2: DeviceSnapshot = { profile: 'raspberry-pi-4', activeSlot: 'b', slots: { a: content('1', 1), b: content('2', 2) } };
  const acceptedV2: PersistedState = { highestAccepted: 2, trial: null, refused: [] };
  const back = (c: string, version: number): DesiredState => ({ ...desired(c, version), rollback: true });

  it('re-activates the previous bundle from the inactive slot, without a download', () => {
    assert.equal(admission(runningV2, back('1', 1), acceptedV2), null);
    const steps = planSteps(runningV2, back('1', 1), acceptedV2);
    assert.deepEqual(kinds(steps), ['healthcheck', 'activate']);
    assert.equal((steps[1] as { slot: string }).slot, 'a');
  });

  it('without the flag the same bundle is refused by anti-rollback', () => {
    assert.equal(admission(runningV2, desired('1', 1), acceptedV2)?.code, 'VERSION_NOT_HIGHER');
    assert.deepEqual(planSteps(runningV2, desired('1', 1), acceptedV2), []);
  });

  it('refuses a rollback to anything not held in the inactive slot (an older bundle must be re-published as a new version)', () => {
    assert.equal(admission(runningV2, back('0', 0), acceptedV2)?.code, 'ROLLBACK_NOT_LOCAL');
    assert.deepEqual(planSteps(runningV2, back('0', 0), acceptedV2), []);
    assert.equal(admission(runningV1, back('1', 1), acceptedV1), null, 'rolling back to the active bundle is a no-op');
    assert.equal(admission(empty, back('1', 1), fresh)?.code, 'ROLLBACK_NOT_LOCAL');
  });

  it('a bundle refused for good stays refused, flag or not', () => {
    const refused: PersistedState = { ...acceptedV2, refused: [{ sha256: sha('1'), code: 'WATCH_FAILED' }] };
    assert.equal(admission(runningV2, back('1', 1), refused)?.code, 'REFUSED_BEFORE');
  });
});
