// Several fleet-server replicas on one external broker (docs/ota-protocol.md §scaling): two
// FleetServers share a data directory and subscribe through the MQTT 5 shared subscription
// `$share/edgeloop-fleet/…` on a real mosquitto. A device downloads a bundle and uploads samples;
// an observer client (a plain subscription, which gets every message) counts what the device
// published. Each chunk request and each sample upload is handled by exactly one replica, both
// replicas take a share of the work, and when one replica stops mid-download the other one
// serves the rest, with every sample stored once.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ChunkRequestSchema, FleetServer, decodeJson, decodeSampleFrame, deviceTopic, provisionServer } from '@edgeloop/ota';
import type { SampleIndexEntry, ServerEvent } from '@edgeloop/ota';
import type { MqttClient } from 'mqtt';

import { connect } from './ota-broker-conformance.js';
import { MOSQUITTO, makeBundle, nextEvent, sampleImage, startFleet, until } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

const GROUP = 'edgeloop-fleet';
const DEVICE = 'dev-shared';

interface Replica {
  server: FleetServer;
  /** Sample upload ids this replica handled (stored or duplicate), in order. */
  samples: string[];
}

describe('ota shared subscriptions (two replicas, mosquitto)', { skip: !existsSync(MOSQUITTO) && `${MOSQUITTO} is not installed` }, () => {
  let fleet: Fleet;
  let replicas: Replica[] = [];
  let observer: MqttClient | undefined;
  before(async () => {
    fleet = await startFleet({ broker: 'mosquitto' });
  });
  after(async () => {
    await observer?.endAsync(true).catch(() => undefined);
    for (const r of replicas) await r.server.stop().catch(() => undefined);
    await fleet.close();
  });

  function watch(server: FleetServer): Replica {
    const replica: Replica = { server, samples: [] };
    server.on('message', (event: ServerEvent) => {
      if (event.type === 'sample' && event.deviceId === DEVICE) replica.samples.push(event.id);
    });
    return replica;
  }

  it('hands each chunk request and sample upload to exactly one replica, and one replica takes over when the other stops', { timeout: 180_000 }, async () => {
    // Replica A is the fleet's server, restarted into the shared group; it adds the bundle (the
    // store is on disk), then replica B opens the same data directory.
    const bundle = await makeBundle(fleet.root, { version: 1, key: fleet.key, modelBytes: 6 * 1024 * 1024 });
    await fleet.server.stop();
    fleet.server.options.sharedGroup = GROUP;
    await fleet.server.start();
    const record = await fleet.server.store.addBundle(bundle.path, { chunkBytes: 64 * 1024 });
    const total = record.transfer.chunkSha256.length;
    await fleet.provision(DEVICE);
    const a = watch(fleet.server);
    // Each replica has its own server identity: the generated mosquitto.conf makes the username
    // the client id, so two clients with one username would take over each other's session.
    const credsB = await provisionServer(fleet.serverDir, 'fleet-server-b');
    const credsObserver = await provisionServer(fleet.serverDir, 'observer');
    await fleet.broker.reload();
    const b = watch(new FleetServer({ dataDir: fleet.serverDir, broker: { url: fleet.broker.url, username: credsB.username, password: credsB.password }, sharedGroup: GROUP }));
    replicas = [b];
    await b.server.start();

    // What the device publishes, seen by a plain (non-shared) subscription.
    observer = await connect(fleet.broker.url, { clientId: 'observer', username: credsObserver.username, password: credsObserver.password });
    const requested: number[] = [];
    const uploads = new Map<string, number>();
    observer.on('message', (topic, payload) => {
      if (topic.endsWith('/chunks/request')) {
        const decoded = decodeJson(ChunkRequestSchema, payload, 'chunk-request');
        if (decoded.ok) requested.push(...new Set(decoded.value.chunks));
      } else {
        const frame = decodeSampleFrame(payload);
        if (!('error' in frame)) uploads.set(frame.header.id, (uploads.get(frame.header.id) ?? 0) + 1);
      }
    });
    await observer.subscribeAsync([deviceTopic(DEVICE, 'chunks/request'), deviceTopic(DEVICE, 'samples/upload')], { qos: 1 });

    const { agent, host } = await fleet.agent(DEVICE, { window: 4, sampleAckTimeoutMs: 2000 });
    const acked = new Set<string>();
    agent.on('sample-acked', (ack) => acked.add(ack.id));
    let verified = 0;
    agent.on('progress', (v) => (verified = Math.max(verified, v)));

    // Phase 1, both replicas up: 60 samples.
    const phase1: string[] = [];
    for (let i = 0; i < 60; i++) {
      const header = await agent.spoolSample(sampleImage(i, 2048), { frame: { seq: i } });
      assert.ok(header !== null);
      phase1.push(header.id);
    }
    await until(() => phase1.every((id) => acked.has(id)), 60_000, 'phase 1 samples acknowledged');

    // The download: A assigns; B, asked for chunks of a bundle it has not seen assigned, reads the
    // device's desired state from the shared directory.
    const downloaded = nextEvent(agent, (e) => e.phase === 'downloaded', 120_000);
    const activated = nextEvent(agent, (e) => e.phase === 'activated', 120_000);
    await a.server.assign(DEVICE, bundle.sha256);
    await until(() => verified >= Math.ceil(total * 0.4), 60_000, 'download at 40%');
    const midway = verified;

    // Every phase-1 upload the device published was handled by exactly one replica.
    const handled1 = [...a.samples, ...b.samples];
    for (const id of phase1) {
      const handledBy = handled1.filter((h) => h === id).length;
      assert.equal(handledBy, uploads.get(id), `sample ${id}: published ${uploads.get(id)} times, handled ${handledBy} times`);
    }
    assert.ok(a.samples.length > 0 && b.samples.length > 0, `uploads split ${a.samples.length}/${b.samples.length}`);
    const servedA1 = a.server.stats.chunksServed;
    const servedB1 = b.server.stats.chunksServed;
    assert.ok(servedA1 > 0 && servedB1 > 0, `chunk requests split ${servedA1}/${servedB1}`);

    // Phase 2: replica A stops in the middle of the download; B serves the rest and the samples.
    await a.server.stop();
    const servedAStopped = a.server.stats.chunksServed;
    const samplesAStopped = a.samples.length;
    const phase2: string[] = [];
    for (let i = 60; i < 120; i++) {
      const header = await agent.spoolSample(sampleImage(i, 2048), { frame: { seq: i } });
      assert.ok(header !== null);
      phase2.push(header.id);
    }
    const done = await downloaded;
    await activated;
    await until(() => phase2.every((id) => acked.has(id)), 60_000, 'phase 2 samples acknowledged');
    assert.equal(host.servingBundle?.fileSha256, bundle.sha256);
    assert.equal(a.server.stats.chunksServed, servedAStopped, 'a stopped replica serves nothing');
    assert.equal(a.samples.length, samplesAStopped);
    assert.ok(b.server.stats.chunksServed > servedB1, 'replica B served the rest of the download');
    for (const id of phase2) assert.ok(b.samples.includes(id), `sample ${id} handled by B`);

    // No chunk index was served more often than the device asked for it.
    const served = a.server.stats.chunksServed + b.server.stats.chunksServed;
    assert.ok(served <= requested.length, `served ${served} chunks for ${requested.length} requested`);
    assert.ok(served >= total, `served ${served} < ${total} chunks`);

    // The shared index holds every sample once, with the right bytes.
    const text = await readFile(join(fleet.serverDir, 'samples', 'index.jsonl'), 'utf8');
    const entries = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as SampleIndexEntry).filter((e) => e.deviceId === DEVICE);
    assert.deepEqual(entries.map((e) => e.id).sort(), [...phase1, ...phase2].sort());
    console.log(`# shared subscription: ${total} chunks (64 KiB) + 120 samples; before the stop at ${midway}/${total} chunks A served ${servedA1} and B ${servedB1} chunks, A handled ${samplesAStopped} and B ${b.samples.length - phase2.length} of the phase-1 uploads; after A stopped B served the rest (${b.server.stats.chunksServed - servedB1} more chunks, all 60 new samples); ${served} chunks served for ${requested.length} requested, download ${done.stats?.seconds?.toFixed(2)} s`);
  });
});
