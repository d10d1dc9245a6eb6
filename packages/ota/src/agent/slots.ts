// The device data directory (docs/ota-protocol.md §install): slots `a/` and `b/`, each holding a
// bundle and its slot.json; the `active` pointer file; state.json with the anti-rollback version,
// the uncommitted trial and refused bundles. Every change is write-temp + fsync + rename + fsync dir,
// so after a kill at any point the pointer names a slot that was complete before it was named.
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { StateCorruptError } from '../errors.js';
import { fsyncDirectory, writeJsonAtomic, writeFileAtomic } from '@edgeloop/bundle';
import { isValidMessage } from '../schemas.js';
import type { SlotName } from '../schemas.js';
import { Type } from '@sinclair/typebox';
import type { DeviceSnapshot, PersistedState, SlotContent } from './planner.js';

export const BUNDLE_FILE = 'bundle.elb';
const MAX_REFUSED = 32;

const SlotContentSchema = Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  version: Type.Integer({ minimum: 0 }),
  targetProfile: Type.String(),
});
const SlotNameSchema = Type.Union([Type.Literal('a'), Type.Literal('b')]);
const PersistedSchema = Type.Object({
  v: Type.Literal(1),
  highestAccepted: Type.Integer({ minimum: -1 }),
  trial: Type.Union([Type.Null(), Type.Object({ from: Type.Union([SlotNameSchema, Type.Null()]), to: SlotNameSchema, sha256: Type.String() })]),
  refused: Type.Array(Type.Object({ sha256: Type.String(), code: Type.String() })),
});

export class SlotStore {
  constructor(readonly dataDir: string) {}

  get downloadsDir(): string {
    return join(this.dataDir, 'downloads');
  }

  slotDir(slot: SlotName): string {
    return join(this.dataDir, slot);
  }

  bundlePath(slot: SlotName): string {
    return join(this.slotDir(slot), BUNDLE_FILE);
  }

  async init(): Promise<void> {
    await mkdir(this.downloadsDir, { recursive: true });
    // Temp files of atomic writes interrupted by a kill are garbage; the targets are intact.
    for (const dir of [this.dataDir, this.downloadsDir]) {
      for (const name of await readdir(dir)) {
        if (name.startsWith('.') && name.endsWith('.tmp')) await rm(join(dir, name), { force: true });
      }
    }
  }

  async readPointer(): Promise<SlotName | null> {
    let text: string;
    try {
      text = (await readFile(join(this.dataDir, 'active'), 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    if (text !== 'a' && text !== 'b') throw new StateCorruptError(`active pointer holds ${JSON.stringify(text.slice(0, 20))}`);
    return text;
  }

  /** Switches the pointer atomically (null removes it: back to "nothing installed"). */
  async writePointer(slot: SlotName | null): Promise<void> {
    const path = join(this.dataDir, 'active');
    if (slot === null) {
      await rm(path, { force: true });
      await fsyncDirectory(this.dataDir);
      return;
    }
    await writeFileAtomic(path, `${slot}\n`);
  }

  async readSlot(slot: SlotName): Promise<SlotContent | null> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(this.slotDir(slot), 'slot.json'), 'utf8'));
    } catch {
      return null; // no slot.json (empty, or staging was interrupted): the slot holds nothing usable
    }
    return isValidMessage(SlotContentSchema, parsed) ? { sha256: parsed.sha256, version: parsed.version, targetProfile: parsed.targetProfile } : null;
  }

  async readPersisted(): Promise<PersistedState> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(this.dataDir, 'state.json'), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { highestAccepted: -1, trial: null, refused: [] };
      throw new StateCorruptError('state.json is unreadable', { cause: error });
    }
    if (!isValidMessage(PersistedSchema, parsed)) throw new StateCorruptError('state.json fails its schema');
    return { highestAccepted: parsed.highestAccepted, trial: parsed.trial, refused: parsed.refused };
  }

  async writePersisted(state: PersistedState): Promise<void> {
    await writeJsonAtomic(join(this.dataDir, 'state.json'), { v: 1, ...state, refused: state.refused.slice(-MAX_REFUSED) });
  }

  async snapshot(profile: string): Promise<DeviceSnapshot> {
    return { profile, activeSlot: await this.readPointer(), slots: { a: await this.readSlot('a'), b: await this.readSlot('b') } };
  }

  /**
   * Moves a verified file into a slot that the pointer does not name: clear the slot, rename the
   * file in, fsync, then write slot.json (a slot without slot.json is empty to readSlot).
   */
  async stage(slot: SlotName, sourcePath: string, content: SlotContent): Promise<string> {
    if ((await this.readPointer()) === slot) throw new StateCorruptError(`refusing to stage into the active slot ${slot}`);
    const dir = this.slotDir(slot);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await fsyncDirectory(this.dataDir);
    const target = this.bundlePath(slot);
    await rename(sourcePath, target);
    await fsyncDirectory(dir);
    await fsyncDirectory(this.downloadsDir);
    await writeJsonAtomic(join(dir, 'slot.json'), content);
    return target;
  }
}
