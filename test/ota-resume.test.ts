// Resumable transfer: the connection is cut at ~40% of a download (broker restart; separately a
// graceful agent restart on the same data dir) and the download resumes from the persisted bitmap.
// Guarantee checked here (docs/ota-protocol.md §transfer): per interruption, the device receives
// again at most one chunk (chunk requests are QoS 0, so none from before the cut is answered beside
// its re-request) and never re-requests a chunk it had verified and persisted; the server sends at
// most one window beyond the bundle size (copies lost in flight).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DEFAULT_CHUNK_BYTES } from '@edgeloop/ota';

import { makeBundle, nextEvent, startFleet, waitForEmit } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

const WINDOW = 8;

describe('ota resume', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(async () => {
    await fleet.close();
  });

  it('resumes after a broker restart at ~40% without re-fetching verified chunks', async () => {
    const bundle = await makeBundle(fleet.root, { version: 1, key: fleet.key, modelBytes: 10 * 1024 * 1024 });
    const record = await fleet.server.store.addBundle(bundle.path);
    const total = record.transfer.chunkSha256.length;
    const { agent, host } = await fleet.agent('dev-broker', { window: WINDOW });
    const downloaded = nextEvent(agent, (e) => e.phase === 'downloaded', 60_000);
    const activated = nextEvent(agent, (e) => e.phase === 'activated', 60_000);
    const atCut = waitForEmit<number>(agent, 'progress', (verified) => verified >= Math.ceil(total * 0.4));
    await fleet.server.assign('dev-broker', bundle.sha256);
    const verifiedAtCut = await atCut;
    await fleet.restartBroker(300);
    const stats = (await downloaded).stats ?? {};
    await activated;
    const served = fleet.server.stats.bytesServedByDevice.get('dev-broker') ?? 0;
    const excess = served - bundle.bytes;
    console.log(`# broker restart at ${verifiedAtCut}/${total} chunks: device re-received ${stats.refetchedBytes} B, server sent ${excess} B beyond the bundle size (lost in flight), ${stats.timeouts} timeouts`);
    assert.ok((stats.refetchedBytes ?? 0) <= DEFAULT_CHUNK_BYTES, `device re-received ${stats.refetchedBytes} B > one chunk`);
    assert.ok(excess <= WINDOW * DEFAULT_CHUNK_BYTES, `server re-sent ${excess} B > window`);
    assert.equal(host.servingBundle?.fileSha256, bundle.sha256);
  });

  it('resumes after the agent object is restarted on the same data dir', async () => {
    const bundle = await makeBundle(fleet.root, { version: 1, key: fleet.key, modelBytes: 10 * 1024 * 1024 });
    const record = await fleet.server.store.addBundle(bundle.path);
    const total = record.transfer.chunkSha256.length;
    const first = await fleet.agent('dev-restart', { window: WINDOW });
    const atCut = waitForEmit<number>(first.agent, 'progress', (verified) => verified >= Math.ceil(total * 0.4));
    await fleet.server.assign('dev-restart', bundle.sha256);
    await atCut;
    await first.agent.stop();
    const servedBefore = fleet.server.stats.bytesServedByDevice.get('dev-restart') ?? 0;

    const second = await fleet.agent('dev-restart', { window: WINDOW, dataDir: first.dataDir });
    const downloaded = await nextEvent(second.agent, (e) => e.phase === 'downloaded', 60_000);
    await nextEvent(second.agent, (e) => e.phase === 'activated', 60_000);
    const stats = downloaded.stats ?? {};
    const resumed = stats.resumedChunks ?? 0;
    const needed = total - resumed;
    const refetched = (stats.bytesReceived ?? 0) - (bundle.bytes - (stats.resumedBytes ?? 0));
    const servedAfter = (fleet.server.stats.bytesServedByDevice.get('dev-restart') ?? 0) - servedBefore;
    console.log(`# agent restart: resumed ${resumed}/${total} chunks, second agent received ${stats.bytesReceived} B for ${needed} missing chunks (re-fetched ${refetched} B), server sent ${servedBefore + servedAfter - bundle.bytes} B beyond the bundle size`);
    assert.ok(resumed >= Math.ceil(total * 0.4), `resumed only ${resumed} chunks`);
    assert.equal(stats.refetchedBytes, 0);
    assert.ok(refetched <= 0, `re-fetched ${refetched} B`);
    assert.ok(servedBefore + servedAfter - bundle.bytes <= WINDOW * DEFAULT_CHUNK_BYTES);
    assert.equal(second.host.servingBundle?.fileSha256, bundle.sha256);
  });
});
