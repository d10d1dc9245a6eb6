// One security suite (STYLE item 8) run against every broker the fleet supports: the embedded
// aedes broker and a real mosquitto started with the generated password_file and acl_file.
// docs/ota-protocol.md §identity and §acl are what it checks.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';

import { chunkTopic, deviceTopic } from '@edgeloop/ota';

export interface BrokerUnderTest {
  url: string;
  server: { username: string; password: string };
  devices: Record<'dev-a' | 'dev-b', string>;
  /** sha256 assigned to dev-a only. */
  bundleOfA: string;
  /**
   * How a forbidden subscription is refused: 'suback' = SUBACK 0x80 (embedded broker);
   * 'filtered' = granted, but the ACL is applied to every delivered message (mosquitto 2.0 acl_file).
   */
  subscribeRefusal: 'suback' | 'filtered';
  close(): Promise<void>;
}

/** Connects once (no reconnects); rejects on a refused CONNACK, a TLS error, a closed socket or a timeout. */
export async function connect(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clean: true, ...options });
  let onError: (error: Error) => void = () => undefined;
  let onClose: () => void = () => undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onError = reject;
      onClose = () => reject(new Error('connection closed before CONNACK'));
      client.once('connect', () => resolve());
      client.once('error', onError);
      client.once('close', onClose);
    });
  } catch (error) {
    client.end(true);
    throw error;
  } finally {
    client.off('error', onError);
    client.off('close', onClose);
  }
  client.on('error', () => undefined);
  return client;
}

/** Granted QoS of a subscription: 128 when refused (or when the broker closed the connection). */
export async function subscribeQos(client: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted[0]?.qos ?? 128;
  } catch {
    return 128;
  }
}

async function expectRefusedConnect(url: string, options: IClientOptions): Promise<void> {
  await assert.rejects(connect(url, options), (error: Error) => /not authorized|bad user ?name or password|connack|refused|closed/i.test(error.message));
}

export function brokerSecurityConformance(name: string, setup: () => Promise<BrokerUnderTest>): void {
  describe(`broker security: ${name}`, () => {
    let b: BrokerUnderTest;
    let watcher: MqttClient;
    const seen: { topic: string; payload: string }[] = [];
    const marker = (): string => `m-${randomBytes(6).toString('hex')}`;
    const seenMarker = (m: string): boolean => seen.some((s) => s.payload.includes(m));
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

    before(async () => {
      b = await setup();
      watcher = await connect(b.url, { clientId: `watcher-${marker()}`, username: b.server.username, password: b.server.password });
      watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString('latin1') }));
      assert.equal(await subscribeQos(watcher, 'edgeloop/v1/#'), 1, 'server identity may read the whole tree');
    });
    after(async () => {
      await watcher?.endAsync(true);
      await b?.close();
    });

    it('refuses anonymous, unknown users and wrong passwords', async () => {
      await expectRefusedConnect(b.url, { clientId: 'dev-a' });
      await expectRefusedConnect(b.url, { clientId: 'dev-x', username: 'dev-x', password: 'whatever' });
      await expectRefusedConnect(b.url, { clientId: 'dev-a', username: 'dev-a', password: `${b.devices['dev-a']}x` });
      await expectRefusedConnect(b.url, { clientId: 'dev-a', username: 'dev-a', password: b.devices['dev-b'] });
    });

    it('lets a device publish its own state and read its own desired state', async () => {
      const a = await connect(b.url, { clientId: 'dev-a', username: 'dev-a', password: b.devices['dev-a'] });
      try {
        const m = marker();
        await a.publishAsync(deviceTopic('dev-a', 'state'), m, { qos: 1 });
        assert.equal(await subscribeQos(a, deviceTopic('dev-a', 'desired')), 1);
        assert.equal(await subscribeQos(a, 'edgeloop/v1/devices/dev-a/#'), 1);
        await settle();
        assert.ok(seenMarker(m), 'own state reached the server');
      } finally {
        await a.endAsync(true);
      }
    });

    it("refuses a device publishing under another device's id or on server topics", async () => {
      const forbidden = [
        deviceTopic('dev-b', 'state'),
        deviceTopic('dev-b', 'status'),
        deviceTopic('dev-b', 'chunks/request'),
        deviceTopic('dev-a', 'desired'),
        deviceTopic('dev-a', 'samples/ack'),
        chunkTopic(b.bundleOfA),
        'edgeloop/v1/fleet/anything',
      ];
      for (const topic of forbidden) {
        const a = await connect(b.url, { clientId: 'dev-a', username: 'dev-a', password: b.devices['dev-a'] });
        const m = marker();
        await Promise.race([a.publishAsync(topic, m, { qos: 1 }).catch(() => undefined), settle()]);
        await settle();
        await a.endAsync(true);
        assert.ok(!seenMarker(m), `publish to ${topic} was delivered`);
      }
    });

    it("refuses fleet-wide wildcards and other devices' topics to a device", async () => {
      const a = await connect(b.url, { clientId: 'dev-a', username: 'dev-a', password: b.devices['dev-a'] });
      const got: string[] = [];
      a.on('message', (topic) => got.push(topic));
      const otherBundle = randomBytes(32).toString('hex');
      try {
        for (const filter of [
          '#', 'edgeloop/#', 'edgeloop/v1/#', 'edgeloop/v1/devices/#', 'edgeloop/v1/devices/+/desired', 'edgeloop/v1/devices/+/state',
          'edgeloop/v1/+/dev-b/desired', deviceTopic('dev-b', 'desired'), 'edgeloop/v1/devices/dev-b/#', 'edgeloop/v1/bundles/#',
          'edgeloop/v1/bundles/+/chunks', chunkTopic(otherBundle), '$SYS/#',
        ]) {
          const qos = await subscribeQos(a, filter);
          if (b.subscribeRefusal === 'suback') assert.equal(qos, 128, `subscription to ${filter} was granted`);
        }
        // Whatever the broker granted, nothing of dev-b's and no unassigned bundle reaches dev-a.
        await watcher.publishAsync(deviceTopic('dev-b', 'desired'), marker(), { qos: 1, retain: true });
        await watcher.publishAsync(deviceTopic('dev-b', 'state'), marker(), { qos: 1 });
        await watcher.publishAsync(deviceTopic('dev-b', 'samples/ack'), marker(), { qos: 1 });
        await watcher.publishAsync(chunkTopic(otherBundle), marker(), { qos: 1 });
        await watcher.publishAsync('edgeloop/v1/fleet/rollouts', marker(), { qos: 1 });
        await settle();
        assert.deepEqual(got.filter((t) => !t.startsWith('edgeloop/v1/devices/dev-a/') && t !== chunkTopic(b.bundleOfA)), []);
      } finally {
        await a.endAsync(true);
      }
    });

    it('lets a device read chunks only of bundles assigned to it', async () => {
      const a = await connect(b.url, { clientId: 'dev-a', username: 'dev-a', password: b.devices['dev-a'] });
      const bDev = await connect(b.url, { clientId: 'dev-b', username: 'dev-b', password: b.devices['dev-b'] });
      const gotA: string[] = [];
      const gotB: string[] = [];
      a.on('message', (_t, p) => gotA.push(p.toString()));
      bDev.on('message', (_t, p) => gotB.push(p.toString()));
      try {
        assert.equal(await subscribeQos(a, chunkTopic(b.bundleOfA)), 1);
        const qosB = await subscribeQos(bDev, chunkTopic(b.bundleOfA));
        if (b.subscribeRefusal === 'suback') assert.equal(qosB, 128);
        const m = marker();
        await watcher.publishAsync(chunkTopic(b.bundleOfA), m, { qos: 1 });
        await settle();
        assert.ok(gotA.includes(m));
        assert.ok(!gotB.includes(m));
      } finally {
        await a.endAsync(true);
        await bDev.endAsync(true);
      }
    });

    it("does not let a device take over another device's session", async () => {
      const bDev = await connect(b.url, { clientId: 'dev-b', username: 'dev-b', password: b.devices['dev-b'] });
      try {
        const impostor = await connect(b.url, { clientId: 'dev-b', username: 'dev-a', password: b.devices['dev-a'] }).catch(() => undefined);
        await settle();
        assert.equal(bDev.connected, true, 'dev-b was disconnected by a client claiming its id');
        await impostor?.endAsync(true);
      } finally {
        await bDev.endAsync(true);
      }
    });
  });
}
