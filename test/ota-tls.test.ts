// The embedded broker over TLS (mqtts://127.0.0.1): a device that trusts the broker's certificate
// gets a bundle delivered; one that does not trust it cannot connect.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { TrustStore, generateKeyPair } from '@edgeloop/bundle';
import { BundleModelHost, DeviceAgent, FleetServer, provisionDevice, provisionServer, startBroker } from '@edgeloop/ota';
import type { RunningBroker } from '@edgeloop/ota';

import { connect } from './ota-broker-conformance.js';
import { hasOpenssl, makeBundle, makeTestCertificate, nextEvent, tempDir } from './ota-helpers.js';

describe('ota over TLS', { skip: !hasOpenssl() && 'openssl is needed to make a test certificate' }, () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let broker: RunningBroker;
  let server: FleetServer;
  let agent: DeviceAgent | undefined;
  let cert: Buffer;

  before(async () => {
    root = await tempDir('tls');
    const { keyPath, certPath } = makeTestCertificate(root.path);
    cert = await readFile(certPath);
    const serverDir = join(root.path, 'server');
    const creds = await provisionServer(serverDir);
    server = new FleetServer({ dataDir: serverDir, broker: { url: 'mqtts://127.0.0.1:1', username: creds.username, password: creds.password, ca: cert } });
    broker = await startBroker({ dataDir: serverDir, port: 0, assignments: server.store, tls: { key: await readFile(keyPath), cert } });
    (server.options.broker as { url: string }).url = broker.url;
    await server.start();
  });
  after(async () => {
    await agent?.stop();
    await server?.stop();
    await broker?.close();
    await root?.remove();
  });

  it('delivers a bundle to a device that trusts the broker certificate', async () => {
    assert.match(broker.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const key = generateKeyPair();
    const trust = TrustStore.fromPems([key.publicKeyPem]);
    const { password } = await provisionDevice(join(root.path, 'server'), 'dev-tls');
    const bundle = await makeBundle(root.path, { version: 1, key });
    await server.store.addBundle(bundle.path);
    const host = new BundleModelHost(trust);
    agent = new DeviceAgent({ dataDir: join(root.path, 'device'), deviceId: 'dev-tls', profile: 'raspberry-pi-4', trust, host, broker: { url: broker.url, password, ca: cert } });
    await agent.start();
    const activated = nextEvent(agent, (e) => e.phase === 'activated');
    await server.assign('dev-tls', bundle.sha256);
    await activated;
    assert.equal(host.servingBundle?.fileSha256, bundle.sha256);

    // Without the CA the certificate does not verify; plain MQTT does not speak to a TLS port.
    await assert.rejects(connect(broker.url, { clientId: 'dev-tls', username: 'dev-tls', password }));
    await assert.rejects(connect(broker.url.replace('mqtts:', 'mqtt:'), { clientId: 'dev-tls', username: 'dev-tls', password, connectTimeout: 1500 }));
  });
});
