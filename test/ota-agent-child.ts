// A device agent in its own process, for tests that kill it with SIGKILL (ota-crash.test.ts).
// Configuration comes as JSON in EDGELOOP_AGENT_CHILD; events go to stdout as JSON lines.
import { TrustStore } from '@edgeloop/bundle';
import { BundleModelHost, DeviceAgent } from '@edgeloop/ota';

interface ChildConfig {
  url: string;
  deviceId: string;
  password: string;
  dataDir: string;
  trustPem: string;
  /** Make ModelHost.activate never return (to kill the agent in the middle of an activation). */
  hangOnActivate?: boolean;
  window?: number;
}

const config = JSON.parse(process.env.EDGELOOP_AGENT_CHILD ?? '{}') as ChildConfig;
const trust = TrustStore.fromPems([config.trustPem]);
const host = new BundleModelHost(trust);
if (config.hangOnActivate === true) host.activate = () => new Promise<void>(() => undefined);
const agent = new DeviceAgent({
  dataDir: config.dataDir,
  deviceId: config.deviceId,
  profile: 'raspberry-pi-4',
  trust,
  host,
  broker: { url: config.url, password: config.password },
  window: config.window,
  requestTimeoutMs: 2000,
});
const emit = (line: unknown): void => void process.stdout.write(JSON.stringify(line) + '\n');
agent.on('event', (event) => emit({ type: 'event', event }));
agent.on('progress', (verified, total) => emit({ type: 'progress', verified, total }));
await agent.start();
emit({ type: 'started', serving: host.servingBundle?.manifest.version ?? null });
