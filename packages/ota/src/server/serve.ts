// `edgeloop serve`: the fleet server process. By default it embeds the broker (aedes, with the
// credentials and ACL of §identity/§acl); with an external broker it connects as the server
// identity. It drives rollouts and takes admin requests from its data directory (§admin).
import { readFile } from 'node:fs/promises';

import { provisionServer } from '../auth/credentials.js';
import { serveInfoPath } from '../auth/device-config.js';
import type { ServeInfo } from '../auth/device-config.js';
import { startBroker } from '../broker.js';
import type { RunningBroker } from '../broker.js';
import { writeJsonAtomic } from '@edgeloop/bundle';
import { AdminInbox } from './admin.js';
import { FleetServer } from './fleet-server.js';
import { RolloutManager } from './rollout.js';

export interface ServeOptions {
  dataDir: string;
  /** Embedded broker: listen address (default 0.0.0.0) and port (default 1883; 0 = any free port). */
  host?: string;
  port?: number;
  /** TLS for the embedded broker (PEM file paths). */
  tls?: { certFile: string; keyFile: string };
  /** An external broker instead of the embedded one; the server connects with these credentials. */
  broker?: { url: string; username: string; password: string; caFile?: string };
  /** The URL devices are told to use (default: derived from host and port). */
  publicUrl?: string;
  adminPollMs?: number;
}

export interface RunningFleet {
  /** The broker URL devices connect to. */
  url: string;
  server: FleetServer;
  rollouts: RolloutManager;
  broker: RunningBroker | undefined;
  close(): Promise<void>;
}

export async function serveFleet(options: ServeOptions): Promise<RunningFleet> {
  const { dataDir } = options;
  let broker: RunningBroker | undefined;
  let url: string;
  let credentials: { url: string; username: string; password: string; ca?: string };
  const server = new FleetServer({ dataDir, broker: { url: 'mqtt://127.0.0.1:1', username: '', password: '' } });
  if (options.broker === undefined) {
    // The embedded broker's server identity is rotated at every start: only this process uses it.
    const issued = await provisionServer(dataDir);
    const tls = options.tls === undefined ? undefined : { cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) };
    const host = options.host ?? '0.0.0.0';
    broker = await startBroker({ dataDir, host, port: options.port ?? 1883, assignments: server.store, ...(tls !== undefined ? { tls } : {}) });
    const local = `${tls === undefined ? 'mqtt' : 'mqtts'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${broker.port}`;
    url = options.publicUrl ?? local;
    credentials = { url: local, username: issued.username, password: issued.password, ...(tls !== undefined ? { ca: tls.cert.toString() } : {}) };
  } else {
    url = options.publicUrl ?? options.broker.url;
    credentials = { url: options.broker.url, username: options.broker.username, password: options.broker.password };
    if (options.broker.caFile !== undefined) credentials.ca = await readFile(options.broker.caFile, 'utf8');
  }
  Object.assign(server.options.broker, credentials);
  const rollouts = new RolloutManager(server);
  const inbox = new AdminInbox(dataDir, rollouts);
  try {
    await server.start();
    await rollouts.resume();
    await inbox.start(options.adminPollMs);
  } catch (error) {
    inbox.stop();
    await server.stop().catch(() => undefined);
    await broker?.close();
    throw error;
  }
  const info: ServeInfo = { url, pid: process.pid, startedAt: new Date().toISOString() };
  await writeJsonAtomic(serveInfoPath(dataDir), info);
  return {
    url,
    server,
    rollouts,
    broker,
    async close() {
      inbox.stop();
      await server.stop().catch(() => undefined);
      await broker?.close();
      // serve.json stays: `device provision` still names this URL while the server is down.
    },
  };
}
