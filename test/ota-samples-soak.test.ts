// Samples soak (docs/ota-protocol.md §sample-upload, §sample-ack): 10,000 small samples are
// captured into the spools of four device agents (child processes, 2,500 each) and uploaded while
// the broker is restarted twice (the second time long enough for the spools to overflow and drop
// their oldest samples) and one agent is killed twice with SIGKILL. Afterwards every captured
// sample is accounted for by sequence number: stored on the server exactly once (index entry +
// blob whose sha256 matches the bytes the device captured), still in a spool, or dropped by the
// spool's policy; the devices' reported eviction counts explain every missing sample.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { provisionDevice } from '@edgeloop/ota';
import type { SampleIndexEntry, ServerEvent } from '@edgeloop/ota';
import type { SampleMeta } from '@edgeloop/runtime';

import { AgentProcess } from './ota-agent-process.js';
import type { Line } from './ota-agent-process.js';
import { sampleImage, startFleet, until } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

const DEVICES = ['dev-soak-0', 'dev-soak-1', 'dev-soak-2', 'dev-soak-3'];
const PER_DEVICE = 2500;
const COUNT = DEVICES.length * PER_DEVICE;
const BYTES = 256;
const SPOOL_MAX = 300;
/** The uploader's unacknowledged uploads, at most (SampleUploader's default). */
const UPLOAD_WINDOW = 4;

interface Device {
  id: string;
  first: number;
  spoolDir: string;
  config: object;
  agent: AgentProcess;
  /** Every line of every incarnation. */
  lines: Line[];
}

describe('ota samples soak', () => {
  let fleet: Fleet;
  const devices: Device[] = [];
  before(async () => {
    // The device and server directories live on tmpfs when there is one: what is measured is the
    // accounting across kills and restarts (a SIGKILL loses nothing written before it), not the
    // cost of fsync on this machine's disk.
    fleet = await startFleet({ tmp: existsSync('/dev/shm') ? '/dev/shm' : undefined });
  });
  after(async () => {
    for (const device of devices) if (device.agent.alive) await device.agent.kill();
    await fleet.close();
  });

  it('accounts for 10,000 samples exactly across two broker restarts and two agent kills', { timeout: 600_000 }, async () => {
    const started = Date.now();
    let stored = 0;
    let duplicates = 0;
    fleet.server.on('message', (event: ServerEvent) => {
      if (event.type !== 'sample') return;
      if (event.status === 'stored') stored++;
      else if (event.status === 'duplicate') duplicates++;
    });
    const spawn = (device: Device): void => {
      device.agent = new AgentProcess(device.config);
      device.agent.onLine = (line) => device.lines.push(line);
    };
    for (const [i, id] of DEVICES.entries()) {
      const { password } = await provisionDevice(fleet.serverDir, id);
      const dataDir = join(fleet.root, id);
      const config = {
        url: fleet.broker.url, deviceId: id, password, dataDir, trustPem: fleet.key.publicKeyPem,
        capture: { first: i * PER_DEVICE, count: PER_DEVICE, bytes: BYTES, perTick: 8, tickMs: 5, highWater: 64 },
        spoolMaxSamples: SPOOL_MAX,
        sampleAckTimeoutMs: 3000,
      };
      const device: Device = { id, first: i * PER_DEVICE, spoolDir: join(dataDir, 'spool'), config, agent: undefined as unknown as AgentProcess, lines: [] };
      spawn(device);
      devices.push(device);
    }
    const victim = devices[0];
    const count = (device: Device, type: Line['type']): number => device.lines.filter((l) => l.type === type).length;
    const evicted = (device: Device): number => device.lines.reduce((sum, l) => sum + (l.type === 'captured' ? l.evicted : 0), 0);
    const totalEvicted = (): number => devices.reduce((sum, d) => sum + evicted(d), 0);
    const captured = (): number => devices.reduce((sum, d) => sum + count(d, 'captured'), 0);
    const spooled = async (device: Device): Promise<number> => (await readdir(device.spoolDir).catch(() => [])).filter((n) => n.endsWith('.json')).length;
    // A kill lands only while the spool is far from full, so no add in progress can evict: every
    // eviction is reported on a `captured` line before the process can die.
    const killWhenSpoolLow = async (device: Device): Promise<void> => {
      await until(async () => (await spooled(device)) < SPOOL_MAX / 3, 120_000, 'spool below a third of its budget');
      await device.agent.kill();
    };
    const log: string[] = [];
    const mark = (what: string): void => void log.push(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s (captured ${captured()}, stored ${stored})`);

    await until(() => stored >= 1500, 300_000, '1500 stored');
    mark('broker restart 1 (300 ms down)');
    await fleet.restartBroker(300);

    await until(() => stored >= 3000, 300_000, '3000 stored');
    mark(`${victim.id} kill 1`);
    await killWhenSpoolLow(victim);
    spawn(victim);

    await until(() => stored >= 5000, 300_000, '5000 stored');
    mark('broker restart 2 (down until the spools dropped 100+ samples)');
    const evictedBefore = totalEvicted();
    await fleet.restartBroker(300, () => until(() => totalEvicted() - evictedBefore >= 100, 120_000, 'spool evictions while the broker is down'));
    mark('broker back');

    await until(() => count(victim, 'captured') >= PER_DEVICE * 0.75, 300_000, `${victim.id} 75% captured`);
    mark(`${victim.id} kill 2`);
    await killWhenSpoolLow(victim);
    spawn(victim);

    for (const device of devices) {
      await device.agent.waitFor((l) => l.type === 'capture-done', 300_000);
      await until(async () => (await spooled(device)) === 0, 120_000, `${device.id} spool drained`);
    }
    mark('all spools drained');
    for (const device of devices) await device.agent.kill();
    const seconds = (Date.now() - started) / 1000;

    // The server's index: each sample once, its blob intact and equal to what the device captured.
    const expected = (seq: number): string => createHash('sha256').update(sampleImage(seq, BYTES)).digest('hex');
    const text = await readFile(join(fleet.serverDir, 'samples', 'index.jsonl'), 'utf8');
    const entries = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as SampleIndexEntry);
    assert.equal(entries.length, stored, 'one stored ack per index entry');
    const storedSeqs = new Map<number, string>();
    const ids = new Set<string>();
    for (const entry of entries) {
      const seq = (entry.meta as unknown as SampleMeta | undefined)?.frame.seq;
      const device = devices.find((d) => d.id === entry.deviceId);
      assert.ok(device !== undefined && typeof seq === 'number' && seq >= device.first && seq < device.first + PER_DEVICE, `entry ${entry.deviceId}/${entry.id} has seq ${seq}`);
      assert.ok(!storedSeqs.has(seq), `seq ${seq} stored twice`);
      assert.ok(!ids.has(`${entry.deviceId}/${entry.id}`), `id ${entry.id} stored twice`);
      storedSeqs.set(seq, entry.deviceId);
      ids.add(`${entry.deviceId}/${entry.id}`);
      assert.equal(entry.sha256, expected(seq), `sha256 of seq ${seq}`);
      const blob = await readFile(join(fleet.serverDir, 'samples', 'blobs', entry.sha256));
      assert.equal(createHash('sha256').update(blob).digest('hex'), entry.sha256, `blob of seq ${seq}`);
    }

    let totalDropped = 0;
    let totalSpooled = 0;
    let reported = 0;
    let ackedAfterEviction = 0;
    const unknownFate: number[] = [];
    for (const device of devices) {
      // Still spooled (none after the drain, but counted the same way).
      const spoolSeqs = new Set<number>();
      for (const name of (await readdir(device.spoolDir)).filter((n) => n.endsWith('.json'))) {
        const meta = JSON.parse(await readFile(join(device.spoolDir, name), 'utf8')) as SampleMeta;
        spoolSeqs.add(meta.frame.seq ?? -1);
      }
      let dropped = 0;
      for (let seq = device.first; seq < device.first + PER_DEVICE; seq++) {
        assert.ok(!(storedSeqs.has(seq) && spoolSeqs.has(seq)), `seq ${seq} both stored and spooled`);
        if (!storedSeqs.has(seq) && !spoolSeqs.has(seq)) dropped++;
      }
      assert.equal(device.lines.filter((l) => l.type === 'captured' && l.id === null).length, 0, 'the spool refused no new sample');
      // Evicted = dropped + evicted but acknowledged later + evicted with the ack lost: a sample
      // whose upload was in flight when the broker went down, stored, and evicted while offline
      // (the device cannot know; at most the uploader's window).
      const deviceEvicted = evicted(device);
      const acked = count(device, 'acked-evicted');
      const unknown = deviceEvicted - dropped - acked;
      assert.ok(unknown >= 0 && unknown <= UPLOAD_WINDOW, `${device.id}: ${deviceEvicted} evicted, ${dropped} missing, ${acked} acknowledged after eviction`);
      totalDropped += dropped;
      totalSpooled += spoolSeqs.size;
      reported += deviceEvicted;
      ackedAfterEviction += acked;
      unknownFate.push(unknown);
    }
    console.log(`# samples soak: ${COUNT} captured by ${DEVICES.length} agents (${BYTES} B each, spool budget ${SPOOL_MAX}) = ${storedSeqs.size} stored + ${totalSpooled} still spooled + ${totalDropped} dropped by the spool policy; devices reported ${reported} evicted = ${totalDropped} dropped + ${ackedAfterEviction} acknowledged after eviction + ${unknownFate.join('/')} uploaded just before the outage with the ack lost (stored); ${duplicates} re-uploads acknowledged as duplicates; ${seconds.toFixed(1)} s`);
    for (const line of log) console.log(`#   ${line}`);
    assert.equal(storedSeqs.size + totalSpooled + totalDropped, COUNT);
    assert.ok(totalDropped >= 50, 'the long broker outage overflowed the spools');
  });
});
