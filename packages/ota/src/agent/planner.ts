// The device agent's planner (STYLE item 6, docs/ota-protocol.md §install): a pure function from
// what the device holds, what the server wants and what the device persisted, to the steps that
// get from one to the other. No I/O here; executors in agent.ts run the steps.
import type { DesiredBundle, DesiredState, SlotName, TransferDescriptor } from '../schemas.js';

/** A verified bundle sitting in a slot. */
export interface SlotContent {
  sha256: string;
  version: number;
  targetProfile: string;
}

export interface DeviceSnapshot {
  profile: string;
  /** The slot the pointer file names; null before the first install. */
  activeSlot: SlotName | null;
  slots: Record<SlotName, SlotContent | null>;
}

/** An activation that was started and not yet committed. */
export interface Trial {
  from: SlotName | null;
  to: SlotName;
  sha256: string;
}

export interface Refusal {
  sha256: string;
  code: string;
}

export interface PersistedState {
  /** Highest version ever activated (anti-rollback); -1 before the first install. */
  highestAccepted: number;
  trial: Trial | null;
  /** Bundles this device refused for good (bad signature, failed health check…): not retried. */
  refused: Refusal[];
}

export type Step =
  | { kind: 'download'; bundle: DesiredBundle; transfer: TransferDescriptor }
  | { kind: 'verify'; bundle: DesiredBundle }
  | { kind: 'stage'; bundle: DesiredBundle; slot: SlotName }
  | { kind: 'healthcheck'; bundle: DesiredBundle; slot: SlotName }
  | { kind: 'activate'; bundle: DesiredBundle; slot: SlotName }
  | { kind: 'rollback'; from: SlotName; to: SlotName | null; sha256: string; reason: string };

export interface Rejection {
  code: 'VERSION_NOT_HIGHER' | 'PROFILE_MISMATCH' | 'TRANSFER_DESCRIPTOR' | 'REFUSED_BEFORE' | 'ROLLBACK_NOT_LOCAL';
  message: string;
}

export function otherSlot(slot: SlotName | null): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

/**
 * Why the desired bundle must not even be downloaded, or null. Uses the server's hints only;
 * verify re-checks version and profile from the signed manifest.
 */
export function admission(current: DeviceSnapshot, desired: DesiredState, persisted: PersistedState): Rejection | null {
  const bundle = desired.bundle;
  if (bundle === null) return null;
  const active = current.activeSlot === null ? null : current.slots[current.activeSlot];
  if (active?.sha256 === bundle.sha256) return null;
  const refused = persisted.refused.find((r) => r.sha256 === bundle.sha256);
  if (refused !== undefined) return { code: 'REFUSED_BEFORE', message: `bundle ${bundle.sha256.slice(0, 12)}… was refused before (${refused.code})` };
  if (desired.rollback === true) {
    // §rollback: only the verified bundle still held in the inactive slot (the one this device ran
    // before), so a rollback directive can step back exactly once and never fetch an old bundle.
    const inactive = current.slots[otherSlot(current.activeSlot)];
    if (current.activeSlot !== null && inactive?.sha256 === bundle.sha256) return null;
    return { code: 'ROLLBACK_NOT_LOCAL', message: `rollback to ${bundle.sha256.slice(0, 12)}… refused: it is not the previous bundle kept in the inactive slot; publish it as a new version` };
  }
  if (bundle.version <= persisted.highestAccepted) {
    return { code: 'VERSION_NOT_HIGHER', message: `version ${bundle.version} is not higher than the highest accepted version ${persisted.highestAccepted} (anti-rollback)` };
  }
  if (bundle.targetProfile !== current.profile) {
    return { code: 'PROFILE_MISMATCH', message: `bundle targets profile ${bundle.targetProfile}, this device is ${current.profile}` };
  }
  if (desired.transfer === undefined) return { code: 'TRANSFER_DESCRIPTOR', message: 'desired state has a bundle but no transfer descriptor' };
  return null;
}

export function planSteps(current: DeviceSnapshot, desired: DesiredState | null, persisted: PersistedState): Step[] {
  // An activation interrupted by a crash or a failure is undone before anything else (§install 7).
  if (persisted.trial !== null) {
    const { from, to, sha256 } = persisted.trial;
    return [{ kind: 'rollback', from: to, to: from, sha256, reason: 'activation was not committed' }];
  }
  if (desired === null || desired.bundle === null) return [];
  if (admission(current, desired, persisted) !== null) return [];
  const bundle = desired.bundle;
  const active = current.activeSlot === null ? null : current.slots[current.activeSlot];
  if (active?.sha256 === bundle.sha256) return [];

  const target = otherSlot(current.activeSlot);
  const staged = current.slots[target];
  if (staged !== null && staged.sha256 === bundle.sha256) {
    return [
      { kind: 'healthcheck', bundle, slot: target },
      { kind: 'activate', bundle, slot: target },
    ];
  }
  return [
    { kind: 'download', bundle, transfer: desired.transfer as TransferDescriptor },
    { kind: 'verify', bundle },
    { kind: 'stage', bundle, slot: target },
    { kind: 'healthcheck', bundle, slot: target },
    { kind: 'activate', bundle, slot: target },
  ];
}
