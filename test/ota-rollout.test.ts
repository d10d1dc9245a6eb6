// Rollouts against real agents (docs/ota-protocol.md §rollout): aedes over TCP on 127.0.0.1, the
// fleet server, ten in-process agents of which three refuse the bundle's health check. With
// --max-failures 20% the rollout halts as soon as the third failure arrives, and the devices of the
// waves after it never receive the bundle (no desired state, no download, empty slots).
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { BundleModelHost, RolloutManager, fleetStatus, registerDevice } from '@edgeloop/ota';
import type { HealthReport, InstallEvent } from '@edgeloop/ota';

import { makeBundle, startFleet } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

/** A host whose health check fails, as a device whose accelerator gives wrong answers would. */
class RefusingHost extends BundleModelHost {
  override async stage(): Promise<HealthReport> {
    return { ok: false, checks: [{ name: 'golden[0].logits', ok: false, detail: 'max abs diff 3.2 > 1e-3 (simulated broken accelerator)' }] };
  }
}

const ids = Array.from({ length: 10 }, (_, i) => `dev-${String(i).padStart(2, '0')}`);
const REFUSING = new Set(['dev-03', 'dev-04', 'dev-05']);

describe('ota rollouts', () => {
  let fleet: Fleet;
  let rollouts: RolloutManager;
  const events = new Map<string, InstallEvent[]>();

  before(async () => {
    fleet = await startFleet();
    rollouts = new RolloutManager(fleet.server);
    for (const id of ids) {
      await registerDevice(fleet.serverDir, id, { tags: id < 'dev-05' ? ['lab', 'low'] : ['lab'] });
      const { agent } = await fleet.agent(id, REFUSING.has(id) ? { host: new RefusingHost(fleet.trust) } : {});
      events.set(id, []);
      agent.on('event', (e) => events.get(id)!.push(e));
    }
  });
  after(async () => {
    await fleet.close();
  });

  it('halts when failures exceed --max-failures 20%; unreached devices never receive the bundle', async () => {
    const bundle = await makeBundle(fleet.root, { version: 1, key: fleet.key, modelBytes: 32 * 1024 });
    const record = await rollouts.deploy(bundle.path, { tag: 'lab', canary: '10%', maxFailures: '20%', waveTimeoutMs: 20_000 });
    assert.deepEqual(record.waves.map((w) => w.length), [1, 2, 4, 3]);
    assert.equal(record.status, 'halted', JSON.stringify(record.outcomes));
    assert.match(record.haltReason ?? '', /3 device\(s\) failed, more than the 20% allowed \(2\)/);
    for (const id of REFUSING) assert.deepEqual(record.outcomes[id], { ...record.outcomes[id], state: 'failed', reason: 'HEALTHCHECK_FAILED' });
    for (const id of ['dev-00', 'dev-01', 'dev-02']) assert.equal(record.outcomes[id].state, 'succeeded', id);
    // dev-06 was in the halted wave: it may have finished or still be installing, but it was reached.
    assert.notEqual(record.outcomes['dev-06'].state, 'pending');
    for (const id of ['dev-07', 'dev-08', 'dev-09']) {
      assert.equal(record.outcomes[id].state, 'pending', id);
      assert.equal(fleet.server.store.getDesired(id), undefined, `${id} has no desired state`);
      assert.deepEqual(events.get(id), [], `${id} saw no install event`);
      const files = await readdir(join(fleet.root, 'devices', id));
      assert.ok(!files.includes('active'), `${id} has no active slot`);
    }
    // Give late in-flight messages a moment: still nobody beyond the halt gets the bundle.
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ['dev-07', 'dev-08', 'dev-09']) assert.deepEqual(events.get(id), []);

    const status = await fleetStatus(fleet.serverDir);
    const row = (id: string) => status.devices.find((d) => d.id === id)!;
    assert.equal(row('dev-00').version, 1);
    assert.equal(row('dev-00').state, 'in-sync');
    assert.equal(row('dev-03').state, 'failed');
    assert.equal(row('dev-03').lastError?.code, 'HEALTHCHECK_FAILED');
    assert.equal(row('dev-08').desired, null);
    assert.equal(row('dev-08').version, null);
    assert.equal(status.rollouts.at(-1)?.status, 'halted');
    assert.equal(status.rollouts.at(-1)?.unreached, 3);
  });

  it('counts silence past the wave timeout as a failure', async () => {
    await registerDevice(fleet.serverDir, 'dev-silent', { tags: ['quiet'] });
    await registerDevice(fleet.serverDir, 'dev-00', { tags: ['lab', 'low', 'quiet'] });
    const bundle = await makeBundle(fleet.root, { version: 2, key: fleet.key, modelBytes: 16 * 1024 });
    const start = Date.now();
    const record = await rollouts.deploy(bundle.path, { tag: 'quiet', canary: '1', maxFailures: '1', waveTimeoutMs: 2500 });
    assert.equal(record.status, 'done');
    assert.deepEqual(Object.keys(record.outcomes).sort(), ['dev-00', 'dev-silent']);
    assert.equal(record.outcomes['dev-00'].state, 'succeeded');
    const silent = record.outcomes['dev-silent'];
    assert.equal(silent.state, 'failed');
    assert.match(silent.state === 'failed' ? silent.reason : '', /no outcome within 2500 ms/);
    assert.ok(Date.now() - start >= 2500);
  });

  it('refuses a rollout that selects nothing, or names unknown devices', async () => {
    const bundle = await makeBundle(fleet.root, { version: 3, key: fleet.key, modelBytes: 4096 });
    await assert.rejects(rollouts.deploy(bundle.path, { tag: 'nope' }), /no devices match/);
    await assert.rejects(rollouts.deploy(bundle.path, { devices: ['dev-00', 'dev-99'] }), /unknown device\(s\): dev-99/);
    await assert.rejects(rollouts.deploy(bundle.path, { devices: ['dev-00'], maxFailures: 'lots' }), /neither a percentage/);
  });
});
