// Field-sample intake (docs/ota-protocol.md §sample-upload, §sample-ack): the agent spools
// samples durably, uploads them, and deletes each only after the server stored blob + index entry
// and acknowledged; duplicates are detected by id + hash.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { decodeJson, encodeSampleFrame, deviceTopic, SampleAckSchema } from '@edgeloop/ota';
import type { SampleAck, SampleIndexEntry } from '@edgeloop/ota';

import { connect } from './ota-broker-conformance.js';
import { startFleet, until } from './ota-helpers.js';
import type { Fleet } from './ota-helpers.js';

/** Bytes that start and end like a JPEG (the server treats sample bytes as opaque). */
function jpegLike(size: number): Buffer {
  const out = randomBytes(size);
  out.set([0xff, 0xd8, 0xff, 0xe0], 0);
  out.set([0xff, 0xd9], size - 2);
  return out;
}

async function readIndex(fleet: Fleet): Promise<SampleIndexEntry[]> {
  const text = await readFile(join(fleet.serverDir, 'samples', 'index.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as SampleIndexEntry);
}

describe('ota sample intake', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(async () => {
    await fleet.close();
  });

  it('uploads spooled samples and deletes them only after the ack', async () => {
    const { agent } = await fleet.agent('dev-cam', { sampleAckTimeoutMs: 1500 });
    // No server: samples stay in the spool.
    await fleet.server.stop();
    const sent = [];
    for (let i = 0; i < 12; i++) sent.push(await agent.spoolSample(jpegLike(20_000 + i), { prediction: { score: i / 12 } }));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(agent.spool.list().length, 12, 'nothing is deleted without an ack');

    const acked: SampleAck[] = [];
    agent.on('sample-acked', (ack) => acked.push(ack));
    await fleet.server.start();
    // The spool is drained on the next kick (a new sample); uploads that went unanswered retry after their ack timeout.
    sent.push(await agent.spoolSample(jpegLike(1000)));
    await until(async () => agent.spool.list().length === 0, 30_000, 'spool drained');
    const index = await readIndex(fleet);
    assert.equal(index.length, 13);
    for (const header of sent) {
      assert.ok(header !== null);
      const entry = index.find((e) => e.id === header.id);
      assert.ok(entry, `index has ${header.id}`);
      assert.equal(entry.deviceId, 'dev-cam');
      const blob = await readFile(join(fleet.serverDir, 'samples', 'blobs', header.sha256));
      assert.equal(createHash('sha256').update(blob).digest('hex'), header.sha256);
    }
    assert.ok(acked.every((a) => a.status === 'stored' || a.status === 'duplicate'));
  });

  it('acknowledges a re-sent sample as a duplicate without storing it twice, and rejects a wrong hash', async () => {
    // A raw MQTT client speaking for the device (no agent, which would hold the same client id).
    const password = await fleet.provision('dev-raw');
    const client = await connect(fleet.broker.url, { clientId: 'dev-raw', username: 'dev-raw', password });
    const acks: SampleAck[] = [];
    client.on('message', (_t, payload) => {
      const decoded = decodeJson(SampleAckSchema, payload, 'ack');
      if (decoded.ok) acks.push(decoded.value);
    });
    await client.subscribeAsync(deviceTopic('dev-raw', 'samples/ack'), { qos: 1 });
    const data = jpegLike(5000);
    const header = { v: 1 as const, id: 'sample-1', sha256: createHash('sha256').update(data).digest('hex'), ts: new Date().toISOString(), contentType: 'image/jpeg' };
    const frame = encodeSampleFrame(header, data);
    await client.publishAsync(deviceTopic('dev-raw', 'samples/upload'), frame, { qos: 1 });
    await client.publishAsync(deviceTopic('dev-raw', 'samples/upload'), frame, { qos: 1 });
    await client.publishAsync(deviceTopic('dev-raw', 'samples/upload'), encodeSampleFrame({ ...header, id: 'sample-2' }, jpegLike(5000)), { qos: 1 });
    await client.publishAsync(deviceTopic('dev-raw', 'samples/upload'), Buffer.from('garbage'), { qos: 1 });
    await until(() => acks.length >= 3, 20_000, 'acks');
    await client.endAsync(true);
    // Handlers run concurrently, so ack order across samples is not fixed; within sample-1 it is.
    assert.deepEqual(acks.map((a) => `${a.id}:${a.status}`).sort(), ['sample-1:duplicate', 'sample-1:stored', 'sample-2:rejected']);
    const index = (await readIndex(fleet)).filter((e) => e.deviceId === 'dev-raw');
    assert.equal(index.length, 1);
    assert.ok((await readdir(join(fleet.serverDir, 'samples', 'blobs'))).includes(header.sha256));
    assert.ok((fleet.server.dropped.snapshot()['sample-upload:header-length'] ?? 0) >= 1);
  });
});
