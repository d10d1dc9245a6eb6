// Server + agent over the embedded broker (aedes, TCP on 127.0.0.1) deliver real signed bundles;
// the agent verifies, stages, health-checks and activates them. Prints the measured throughput.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { deviceTopic } from '@edgeloop/ota';
import type { ServerEvent } from '@edgeloop/ota';

import { connect } from './ota-broker-conformance.js';
import { startFleet, makeBundle, nextEvent, until, waitForEmit } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

describe('ota delivery over aedes', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(async () => {
    await fleet.close();
  });

  it('delivers, verifies and activates a signed bundle, then upgrades to an 8 MiB one', async () => {
    const v1 = await makeBundle(fleet.root, { version: 1, key: fleet.key });
    const v2 = await makeBundle(fleet.root, { version: 2, key: fleet.key, modelBytes: 8 * 1024 * 1024 });
    await fleet.server.store.addBundle(v1.path);
    await fleet.server.store.addBundle(v2.path);

    const { agent, host, dataDir } = await fleet.agent('dev-1');
    const activated1 = nextEvent(agent, (e) => e.phase === 'activated' && e.bundle === v1.sha256);
    await fleet.server.assign('dev-1', v1.sha256);
    await activated1;
    assert.equal(host.servingBundle?.manifest.version, 1);

    const downloaded = nextEvent(agent, (e) => e.phase === 'downloaded' && e.bundle === v2.sha256);
    const activated2 = nextEvent(agent, (e) => e.phase === 'activated' && e.bundle === v2.sha256);
    const servedDuringDownload: number[] = [];
    agent.on('progress', () => servedDuringDownload.push(host.servingBundle?.manifest.version ?? -1));
    await fleet.server.assign('dev-1', v2.sha256);
    const done = await downloaded;
    await activated2;

    const seconds = done.stats?.seconds ?? NaN;
    const mbps = v2.bytes / 1e6 / seconds;
    console.log(`# ota throughput: ${(v2.bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(3)} s = ${mbps.toFixed(1)} MB/s (aedes, 256 KiB chunks, the default window)`);
    assert.equal(done.stats?.corruptChunks, 0);
    assert.equal(done.stats?.refetchedBytes, 0);
    // The old model served while the new one downloaded.
    assert.ok(servedDuringDownload.length > 0 && servedDuringDownload.every((v) => v === 1));
    assert.equal(host.servingBundle?.manifest.version, 2);
    assert.equal(host.servingBundle?.fileSha256, v2.sha256);
    const pointer = (await readFile(join(dataDir, 'active'), 'utf8')).trim();
    assert.equal(pointer, 'b');
    const state = JSON.parse(await readFile(join(dataDir, 'state.json'), 'utf8')) as { highestAccepted: number; trial: unknown };
    assert.equal(state.highestAccepted, 2);
    assert.equal(state.trial, null);

    // The server heard the device: reported state and the install events.
    await until(async () => (await fleet.server.store.readReported('dev-1'))?.active?.version === 2, 20_000, 'reported state v2');
    await until(async () => (await fleet.server.store.readEvents('dev-1')).some((e) => e.phase === 'activated' && e.version === 2), 20_000, 'activated event on server');
    assert.equal(fleet.server.dropped.total, 0);
  });

  it('counts and drops malformed and hostile messages on both sides and keeps working', async () => {
    const { agent } = await fleet.agent('dev-hostile');
    // Messages published before the agent subscribes would never reach it.
    await until(() => agent.online, 20_000, 'agent online');
    const raw = await connect(fleet.broker.url, { clientId: 'dev-hostile-raw', username: fleet.serverCredentials.username, password: fleet.serverCredentials.password });
    // Garbage on the device's topics (published with the server identity, which may publish anywhere).
    const before = fleet.server.dropped.total;
    const garbage = [
      Buffer.from('{'), Buffer.from('[1,2,3]'), Buffer.from(JSON.stringify({ v: 1, bundle: 'x'.repeat(64), chunks: [1e9] })),
      Buffer.from(JSON.stringify({ v: 1, bundle: 'a'.repeat(64), chunks: [0] })), Buffer.alloc(100_000, 0xff),
    ];
    for (const payload of garbage) {
      for (const kind of ['state', 'events', 'chunks/request', 'telemetry', 'samples/upload'] as const) {
        await raw.publishAsync(deviceTopic('dev-hostile', kind), payload, { qos: 1 });
      }
    }
    // Hostile desired states from a (compromised or buggy) server identity: the agent drops them.
    for (const payload of garbage) await raw.publishAsync(deviceTopic('dev-hostile', 'desired'), payload, { qos: 1 });
    await until(() => fleet.server.dropped.total - before >= garbage.length * 5, 20_000, 'server drops');
    await until(() => agent.dropped.total >= garbage.length, 20_000, 'agent drops');
    await raw.endAsync(true);
    console.log(`# dropped by the server: ${JSON.stringify(fleet.server.dropped.snapshot())}; by the agent: ${JSON.stringify(agent.dropped.snapshot())}`);
    // Telemetry still flows.
    const telemetry = waitForEmit<ServerEvent>(fleet.server, 'message', (m) => m.type === 'telemetry' && m.deviceId === 'dev-hostile');
    await agent.publishTelemetry({ fps: 14.8, latencyMsP50: 6.1 });
    const received = await telemetry;
    assert.equal(received.type === 'telemetry' && received.telemetry.metrics.fps, 14.8);
    // Still serving: a real bundle is delivered afterwards.
    const v = await makeBundle(fleet.root, { version: 1, key: fleet.key });
    await fleet.server.store.addBundle(v.path);
    const activated = nextEvent(agent, (e) => e.phase === 'activated' && e.bundle === v.sha256);
    await fleet.server.assign('dev-hostile', v.sha256);
    await activated;
  });
});
