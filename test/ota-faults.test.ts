// Faults during delivery (docs/ota-protocol.md §transfer, §install): each bad bundle is refused
// with a reported reason while the old model keeps serving and the active pointer stays put.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { generateKeyPair } from '@edgeloop/bundle';
import { DEFAULT_CHUNK_BYTES } from '@edgeloop/ota';
import type { InstallEvent } from '@edgeloop/ota';

import { makeBundle, nextEvent, startFleet, tempDir, until } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

const DEVICE = 'dev-faults';

describe('ota faults', () => {
  let fleet: Fleet;
  let agent: Awaited<ReturnType<Fleet['agent']>>;
  let v1Sha: string;

  before(async () => {
    fleet = await startFleet();
    const v1 = await makeBundle(fleet.root, { version: 1, key: fleet.key });
    v1Sha = v1.sha256;
    await fleet.server.store.addBundle(v1.path);
    agent = await fleet.agent(DEVICE, { maxCorruptPerChunk: 3 });
    const activated = nextEvent(agent.agent, (e) => e.phase === 'activated');
    await fleet.server.assign(DEVICE, v1.sha256);
    await activated;
  });
  after(async () => {
    await fleet.close();
  });

  /** Assigns a bundle and waits for its refusal; checks the old model still serves from the same slot. */
  async function expectRefused(sha256: string, phase: 'rejected' | 'failed', code: string): Promise<InstallEvent> {
    const servingBefore = agent.host.servingBundle?.fileSha256;
    const pointerBefore = await readFile(join(agent.dataDir, 'active'), 'utf8');
    const refused = nextEvent(agent.agent, (e) => e.bundle === sha256 && (e.phase === 'rejected' || e.phase === 'failed'));
    await fleet.server.assign(DEVICE, sha256);
    const event = await refused;
    assert.equal(event.phase, phase);
    assert.equal(event.reason?.code, code, event.reason?.message);
    assert.equal(agent.host.servingBundle?.fileSha256, servingBefore, 'the old model kept serving');
    assert.equal(await readFile(join(agent.dataDir, 'active'), 'utf8'), pointerBefore, 'the active pointer did not move');
    await until(async () => (await fleet.server.store.readEvents(DEVICE)).some((e) => e.id === event.id), 5000, 'event reached the server');
    return event;
  }

  it('refuses a bundle whose manifest was tampered with (SIGNATURE_INVALID)', async () => {
    const good = await makeBundle(fleet.root, { version: 2, key: fleet.key });
    const bytes = await readFile(good.path);
    const at = bytes.indexOf(Buffer.from('"zero"'));
    assert.ok(at > 0);
    bytes.write('"zer0"', at, 'latin1'); // same length: the container stays valid, the signature does not
    const tampered = join(fleet.root, 'tampered.elb');
    await writeFile(tampered, bytes);
    const record = await fleet.server.store.addBundle(tampered);
    await expectRefused(record.sha256, 'rejected', 'SIGNATURE_INVALID');
  });

  it('refuses a bundle signed by an unknown key (KEY_UNTRUSTED)', async () => {
    const other = await makeBundle(fleet.root, { version: 2, key: generateKeyPair() });
    await fleet.server.store.addBundle(other.path);
    await expectRefused(other.sha256, 'rejected', 'KEY_UNTRUSTED');
  });

  it('refuses a bundle for another device profile without downloading it (PROFILE_MISMATCH)', async () => {
    const jetson = await makeBundle(fleet.root, { version: 2, key: fleet.key, profile: 'jetson-orin-nano' });
    await fleet.server.store.addBundle(jetson.path);
    const served = fleet.server.stats.bytesServedByDevice.get(DEVICE) ?? 0;
    await expectRefused(jetson.sha256, 'rejected', 'PROFILE_MISMATCH');
    assert.equal(fleet.server.stats.bytesServedByDevice.get(DEVICE) ?? 0, served);
  });

  it('refuses a version that is not higher (VERSION_NOT_HIGHER)', async () => {
    const rebuilt = await makeBundle(fleet.root, { version: 1, key: fleet.key });
    await fleet.server.store.addBundle(rebuilt.path);
    await expectRefused(rebuilt.sha256, 'rejected', 'VERSION_NOT_HIGHER');
  });

  it('re-requests a chunk that arrives with a flipped byte, then activates', async () => {
    const v2 = await makeBundle(fleet.root, { version: 2, key: fleet.key, modelBytes: 2 * 1024 * 1024 });
    await fleet.server.store.addBundle(v2.path);
    // Flip one byte of chunk 3 in the server's stored copy (after its descriptor was computed).
    const stored = fleet.server.store.bundlePath(v2.sha256);
    const offset = 3 * DEFAULT_CHUNK_BYTES + 100;
    const original = flipByte(stored, offset);
    let corruptSeen = 0;
    // Repair the source as soon as the device noticed, before its backed-off re-request.
    agent.agent.once('chunk-corrupt', () => {
      corruptSeen++;
      writeByte(stored, offset, original);
    });
    const activated = nextEvent(agent.agent, (e) => e.phase === 'activated' && e.bundle === v2.sha256);
    const downloaded = nextEvent(agent.agent, (e) => e.phase === 'downloaded' && e.bundle === v2.sha256);
    await fleet.server.assign(DEVICE, v2.sha256);
    const stats = (await downloaded).stats ?? {};
    await activated;
    assert.equal(corruptSeen, 1);
    assert.equal(stats.corruptChunks, 1);
    assert.equal(agent.host.servingBundle?.manifest.version, 2);
  });

  it('refuses to go back to an older version after an upgrade (anti-rollback)', async () => {
    await expectRefused(v1Sha, 'rejected', 'VERSION_NOT_HIGHER');
    assert.equal(agent.host.servingBundle?.manifest.version, 2);
  });

  it('gives up after bounded retries when a chunk stays corrupt (CHUNK_CORRUPT)', async () => {
    const v3 = await makeBundle(fleet.root, { version: 3, key: fleet.key, modelBytes: 1024 * 1024 });
    await fleet.server.store.addBundle(v3.path);
    flipByte(fleet.server.store.bundlePath(v3.sha256), DEFAULT_CHUNK_BYTES + 7);
    let corrupt = 0;
    const count = (): void => void corrupt++;
    agent.agent.on('chunk-corrupt', count);
    await expectRefused(v3.sha256, 'failed', 'CHUNK_CORRUPT');
    agent.agent.off('chunk-corrupt', count);
    assert.equal(corrupt, 3, 'maxCorruptPerChunk bounds the retries');
    assert.equal(agent.host.servingBundle?.manifest.version, 2);
  });

  it('refuses a bundle whose health check fails and keeps serving (HEALTHCHECK_FAILED)', async () => {
    // The runtime will compare golden outputs; here the injected host reports what it would on a mismatch.
    const picky = await fleet.agent('dev-health');
    const v1 = await makeBundle(fleet.root, { version: 1, key: fleet.key });
    const v2 = await makeBundle(fleet.root, { version: 2, key: fleet.key });
    await fleet.server.store.addBundle(v1.path);
    await fleet.server.store.addBundle(v2.path);
    const first = nextEvent(picky.agent, (e) => e.phase === 'activated');
    await fleet.server.assign('dev-health', v1.sha256);
    await first;
    const realStage = picky.host.stage.bind(picky.host);
    picky.host.stage = async (path) => {
      const report = await realStage(path);
      return { ok: false, checks: [...report.checks, { name: 'golden[0].logits', ok: false, detail: 'max abs diff 0.7 > tolerance 0.001' }] };
    };
    const failed = nextEvent(picky.agent, (e) => e.phase === 'failed' && e.bundle === v2.sha256);
    await fleet.server.assign('dev-health', v2.sha256);
    const event = await failed;
    assert.equal(event.reason?.code, 'HEALTHCHECK_FAILED');
    assert.match(event.reason?.message ?? '', /golden\[0\]\.logits: max abs diff/);
    assert.equal(picky.host.servingBundle?.manifest.version, 1);
    assert.equal((await readFile(join(picky.dataDir, 'active'), 'utf8')).trim(), 'a');
    picky.host.stage = realStage;
  });

  it('rolls back when the model host fails to activate (ACTIVATE_FAILED → rolled-back)', async () => {
    const failing = await fleet.agent('dev-activate');
    const v1 = await makeBundle(fleet.root, { version: 1, key: fleet.key });
    const v2 = await makeBundle(fleet.root, { version: 2, key: fleet.key });
    await fleet.server.store.addBundle(v1.path);
    await fleet.server.store.addBundle(v2.path);
    const first = nextEvent(failing.agent, (e) => e.phase === 'activated');
    await fleet.server.assign('dev-activate', v1.sha256);
    await first;
    const realActivate = failing.host.activate.bind(failing.host);
    failing.host.activate = async () => {
      throw new Error('runtime could not load the model');
    };
    const rolledBack = nextEvent(failing.agent, (e) => e.phase === 'rolled-back' && e.bundle === v2.sha256);
    const failed = nextEvent(failing.agent, (e) => e.phase === 'failed' && e.bundle === v2.sha256);
    await fleet.server.assign('dev-activate', v2.sha256);
    assert.equal((await failed).reason?.code, 'ACTIVATE_FAILED');
    assert.equal((await rolledBack).reason?.code, 'ACTIVATE_FAILED');
    failing.host.activate = realActivate;
    assert.equal(failing.host.servingBundle?.manifest.version, 1);
    assert.equal((await readFile(join(failing.dataDir, 'active'), 'utf8')).trim(), 'a');
    const state = JSON.parse(await readFile(join(failing.dataDir, 'state.json'), 'utf8')) as { highestAccepted: number; trial: unknown };
    assert.equal(state.highestAccepted, 1);
    assert.equal(state.trial, null);
  });

  it('reports DISK_FULL when the device runs out of space mid-download, and keeps serving', { skip: process.getuid?.() !== 0 && 'needs root to mount a small tmpfs' }, async () => {
    const mnt = await tempDir('full');
    const dataDir = join(mnt.path, 'device');
    await mkdir(dataDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dataDir]);
    try {
      const small = await fleet.agent('dev-full', { dataDir, maxCorruptPerChunk: 3 });
      const v1 = await makeBundle(fleet.root, { version: 1, key: fleet.key });
      await fleet.server.store.addBundle(v1.path);
      const first = nextEvent(small.agent, (e) => e.phase === 'activated');
      await fleet.server.assign('dev-full', v1.sha256);
      await first;
      const big = await makeBundle(fleet.root, { version: 2, key: fleet.key, modelBytes: 4 * 1024 * 1024 });
      await fleet.server.store.addBundle(big.path);
      // The free-space check passes (4 MiB < ~5.8 MiB free); after the first chunk something else
      // fills the disk, so a later chunk write fails with a real ENOSPC.
      small.agent.once('progress', () => {
        execFileSync('dd', ['if=/dev/zero', `of=${join(dataDir, 'filler')}`, 'bs=1M', 'count=4'], { stdio: 'ignore' });
      });
      const failed = nextEvent(small.agent, (e) => e.bundle === big.sha256 && e.phase === 'failed');
      await fleet.server.assign('dev-full', big.sha256);
      const event = await failed;
      assert.equal(event.reason?.code, 'DISK_FULL', event.reason?.message);
      assert.match(event.reason?.message ?? '', /ENOSPC/);
      assert.equal(small.host.servingBundle?.manifest.version, 1);
      assert.equal((await readFile(join(dataDir, 'active'), 'utf8')).trim(), 'a');
      await small.agent.stop();
    } finally {
      execFileSync('umount', ['-l', dataDir]);
      await mnt.remove();
    }
  });
});

function flipByte(path: string, offset: number): number {
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    const original = byte[0];
    writeSync(fd, Buffer.from([original ^ 0x01]), 0, 1, offset);
    return original;
  } finally {
    closeSync(fd);
  }
}

function writeByte(path: string, offset: number, value: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.from([value]), 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}
