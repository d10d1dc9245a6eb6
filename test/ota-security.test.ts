// Authentication and ACLs (docs/ota-protocol.md §identity, §acl) against the embedded broker and
// against a real mosquitto (/usr/sbin/mosquitto) started with the generated files.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { generateKeyPair } from '@edgeloop/bundle';
import { FleetStore, provisionDevice, provisionServer, startBroker } from '@edgeloop/ota';

import { brokerSecurityConformance } from './ota-broker-conformance.js';
import type { BrokerUnderTest } from './ota-broker-conformance.js';
import { MOSQUITTO, makeBundle, startMosquitto, tempDir } from './ota-helpers.js';

async function provisionedFleet(): Promise<{ dir: string; remove(): Promise<void>; store: FleetStore; creds: Omit<BrokerUnderTest, 'url' | 'close' | 'subscribeRefusal'> }> {
  const root = await tempDir('sec');
  const serverDir = join(root.path, 'server');
  const server = await provisionServer(serverDir);
  const devA = await provisionDevice(serverDir, 'dev-a');
  const devB = await provisionDevice(serverDir, 'dev-b');
  const store = new FleetStore(serverDir);
  await store.open();
  const bundle = await makeBundle(root.path, { version: 1, key: generateKeyPair() });
  await store.addBundle(bundle.path);
  await store.setDesired('dev-a', bundle.sha256);
  return {
    dir: serverDir,
    remove: root.remove,
    store,
    creds: { server: { username: server.username, password: server.password }, devices: { 'dev-a': devA.password, 'dev-b': devB.password }, bundleOfA: bundle.sha256 },
  };
}

brokerSecurityConformance('embedded aedes', async () => {
  const fleet = await provisionedFleet();
  const broker = await startBroker({ dataDir: fleet.dir, host: '127.0.0.1', port: 0, assignments: fleet.store });
  return {
    url: broker.url,
    subscribeRefusal: 'suback',
    ...fleet.creds,
    async close() {
      await broker.close();
      await fleet.remove();
    },
  };
});

if (existsSync(MOSQUITTO)) {
  brokerSecurityConformance('mosquitto with generated password_file and acl_file', async () => {
    const fleet = await provisionedFleet();
    const mosquitto = await startMosquitto(fleet.dir, () => fleet.store.assignmentMap());
    return {
      url: mosquitto.url,
      subscribeRefusal: 'filtered',
      ...fleet.creds,
      async close() {
        await mosquitto.close();
        await fleet.remove();
      },
    };
  });
}
