// Fleet delivery over aedes (docs/ota-protocol.md §chunk-request): several agents fetching the same
// bundle at once share the copies on the bundle's chunk topic, so the server publishes far fewer
// than one copy per device and chunk; a device that arrives after the others still completes.
// Also: the embedded broker's credential cache follows rotation and revocation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { provisionDevice, revokeCredentials, startBroker } from '@edgeloop/ota';

import { connect } from './ota-broker-conformance.js';
import { makeBundle, nextEvent, startFleet, until } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

const AGENTS = 6;

describe('ota request coalescing', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(async () => {
    await fleet.close();
  });

  it('sends each chunk to a fleet far fewer times than once per device, and a late device still completes', async () => {
    const bundle = await makeBundle(fleet.root, { version: 1, key: fleet.key, modelBytes: 4 * 1024 * 1024 });
    const record = await fleet.server.store.addBundle(bundle.path);
    const total = record.transfer.chunkSha256.length;
    const agents = await Promise.all(Array.from({ length: AGENTS }, (_, i) => fleet.agent(`co-${i}`)));
    await until(() => agents.every((a) => a.agent.online), 20_000, 'agents online');
    const before = { ...fleet.server.stats };
    const activated = agents.map((a) => nextEvent(a.agent, (e) => e.phase === 'activated' && e.bundle === bundle.sha256, 60_000));
    for (const a of agents) await fleet.server.assign(a.agent.options.deviceId, bundle.sha256);
    const downloads = await Promise.all(agents.map((a) => nextEvent(a.agent, (e) => e.phase === 'downloaded' && e.bundle === bundle.sha256, 60_000)));
    await Promise.all(activated);
    console.log('# per agent: ' + downloads.map((d) => `${d.stats?.timeouts}t/${((d.stats?.refetchedBytes ?? 0) / 262144).toFixed(0)}r/${d.stats?.seconds?.toFixed(1)}s`).join(' '));
    const served = fleet.server.stats.chunksServed - before.chunksServed;
    const coalesced = fleet.server.stats.chunksCoalesced - before.chunksCoalesced;
    console.log(`# ${AGENTS} agents x ${total} chunks: server published ${served} copies, ${coalesced} requested indices answered by a copy already sent`);
    assert.ok(coalesced > 0, 'no request was coalesced');
    // Without coalescing every device's request gets its own copy: AGENTS x total at least.
    assert.ok(served < (AGENTS * total) / 2, `server published ${served} copies for ${AGENTS} x ${total} chunks`);
    for (const a of agents) assert.equal(a.host.servingBundle?.fileSha256, bundle.sha256);

    // A device assigned after everyone finished finds no recent copy and is answered at once.
    const late = await fleet.agent('co-late');
    const lateActivated = nextEvent(late.agent, (e) => e.phase === 'activated' && e.bundle === bundle.sha256, 60_000);
    const servedBeforeLate = fleet.server.stats.chunksServed;
    await fleet.server.assign('co-late', bundle.sha256);
    const lateDownloaded = await nextEvent(late.agent, (e) => e.phase === 'downloaded' && e.bundle === bundle.sha256, 60_000);
    await lateActivated;
    assert.equal(lateDownloaded.stats?.timeouts, 0, 'the late device waited for a request timeout');
    assert.ok(fleet.server.stats.chunksServed - servedBeforeLate >= total);
  });
});

describe('embedded broker credential cache', () => {
  it('verifies a reconnecting device from the cache, and refuses a rotated or revoked secret at once', async () => {
    const fleet = await startFleet();
    try {
      const broker = await startBroker({ dataDir: fleet.serverDir, host: '127.0.0.1', port: 0, assignments: fleet.server.store });
      try {
        const first = await provisionDevice(fleet.serverDir, 'cache-dev');
        const login = (password: string): ReturnType<typeof connect> =>
          connect(broker.url, { clientId: 'cache-dev', username: 'cache-dev', password });
        for (let i = 0; i < 3; i++) await (await login(first.password)).endAsync();
        assert.equal(broker.authStats.checks, 1, 'one scrypt check for three connects');
        assert.equal(broker.authStats.cacheHits, 2);

        const rotated = await provisionDevice(fleet.serverDir, 'cache-dev');
        await assert.rejects(login(first.password));
        await (await login(rotated.password)).endAsync();

        await revokeCredentials(fleet.serverDir, 'cache-dev');
        await assert.rejects(login(rotated.password));
        assert.ok((broker.refusals.snapshot()['connect:bad-credentials'] ?? 0) >= 2);
      } finally {
        await broker.close();
      }
    } finally {
      await fleet.close();
    }
  });
});
