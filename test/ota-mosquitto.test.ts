// The same delivery over a real mosquitto (MQTT 3.1.1 clients, generated password_file and
// acl_file): the fleet server rewrites the ACL and sends SIGHUP when an assignment changes, so the
// device may read the new bundle's chunks. Includes a broker restart in the middle of a download.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { MOSQUITTO, makeBundle, nextEvent, startFleet, waitForEmit } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

describe('ota delivery over mosquitto', { skip: !existsSync(MOSQUITTO) && `${MOSQUITTO} is not installed` }, () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet({ broker: 'mosquitto' });
  });
  after(async () => {
    await fleet.close();
  });

  it('delivers and activates a bundle, resuming across a mosquitto restart', async () => {
    const v1 = await makeBundle(fleet.root, { version: 1, key: fleet.key, modelBytes: 6 * 1024 * 1024 });
    const record = await fleet.server.store.addBundle(v1.path);
    const total = record.transfer.chunkSha256.length;
    const { agent, host } = await fleet.agent('dev-m');
    const downloaded = nextEvent(agent, (e) => e.phase === 'downloaded', 60_000);
    const activated = nextEvent(agent, (e) => e.phase === 'activated', 60_000);
    const atCut = waitForEmit<number>(agent, 'progress', (verified) => verified >= Math.ceil(total * 0.4));
    await fleet.server.assign('dev-m', v1.sha256);
    const cutAt = await atCut;
    await fleet.restartBroker(300);
    const stats = (await downloaded).stats ?? {};
    await activated;
    console.log(`# mosquitto: ${(v1.bytes / 1e6).toFixed(2)} MB in ${stats.seconds?.toFixed(2)} s including a broker restart at ${cutAt}/${total} chunks; device re-received ${stats.refetchedBytes} B`);
    assert.ok((stats.refetchedBytes ?? 0) <= 256 * 1024, `at most one chunk is received twice, got ${stats.refetchedBytes} B`);
    assert.equal(host.servingBundle?.fileSha256, v1.sha256);
  });
});
