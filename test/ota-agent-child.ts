// A device agent in its own process, for tests that kill it with SIGKILL (ota-crash.test.ts,
// ota-crash-random.test.ts, ota-samples-soak.test.ts). Configuration comes as JSON in
// EDGELOOP_AGENT_CHILD; events go to stdout as JSON lines.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { TrustStore } from '@edgeloop/bundle';
import { BundleModelHost, DeviceAgent, RuntimeModelHost } from '@edgeloop/ota';
import type { ModelHost } from '@edgeloop/ota';

import { sampleImage } from './ota-helpers.js';

interface ChildConfig {
  url: string;
  deviceId: string;
  password: string;
  dataDir: string;
  trustPem: string;
  /** Make ModelHost.activate never return (to kill the agent in the middle of an activation). */
  hangOnActivate?: boolean;
  window?: number;
  /**
   * 'runtime': serve with RuntimeModelHost (onnxruntime) and, once started, run one inference on
   * `inferImage` (PNG path) with whatever serves, reporting it as an `inferred` line.
   */
  host?: 'bundle' | 'runtime';
  inferImage?: string;
  /** Watch window of the runtime host (default: none). */
  watchMs?: number;
  /**
   * Capture samples first..first+count-1 (sampleImage(seq, bytes)) into the spool, `perTick` every
   * `tickMs`. The next sequence number survives kills: `capture-cursor` in the data dir, and a
   * sample committed to the spool just before a kill (cursor not advanced yet) is found there.
   * While the agent is online, capture waits while the spool holds `highWater` samples or more
   * (it follows the upload rate); offline it goes on, and the spool's policy drops the oldest.
   */
  capture?: { first?: number; count: number; bytes: number; perTick: number; tickMs: number; highWater: number };
  spoolMaxSamples?: number;
  sampleAckTimeoutMs?: number;
}

const config = JSON.parse(process.env.EDGELOOP_AGENT_CHILD ?? '{}') as ChildConfig;
const trust = TrustStore.fromPems([config.trustPem]);
const emit = (line: unknown): void => void process.stdout.write(JSON.stringify(line) + '\n');

let host: ModelHost;
let runtime: RuntimeModelHost | undefined;
if (config.host === 'runtime') {
  runtime = new RuntimeModelHost({ trust, profile: 'raspberry-pi-4', watch: config.watchMs === undefined ? false : { frames: 1000, ms: config.watchMs } });
  host = runtime;
} else {
  host = new BundleModelHost(trust);
}
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
  ...(config.spoolMaxSamples !== undefined ? { spool: { maxSamples: config.spoolMaxSamples } } : {}),
  ...(config.sampleAckTimeoutMs !== undefined ? { sampleAckTimeoutMs: config.sampleAckTimeoutMs } : {}),
});
agent.on('event', (event) => emit({ type: 'event', event }));
agent.on('progress', (verified, total) => emit({ type: 'progress', verified, total }));
agent.on('online', () => emit({ type: 'online' }));
// An ack for a sample the spool evicted while its upload was in flight: it is on the server.
agent.on('sample-acked', (ack, removed) => {
  if (!removed) emit({ type: 'acked-evicted', id: ack.id });
});
await agent.start();

function servingVersion(): number | null {
  if (runtime !== undefined) return runtime.serving ? runtime.manifest.version : null;
  return (host as BundleModelHost).servingBundle?.manifest.version ?? null;
}
emit({ type: 'started', serving: servingVersion() });

if (runtime !== undefined && config.inferImage !== undefined && runtime.serving) {
  const result = await runtime.infer(new Uint8Array(readFileSync(config.inferImage)));
  emit({ type: 'inferred', version: result.model.version, prediction: result.prediction });
}

if (config.capture !== undefined) await capture(config.capture);

async function capture(options: NonNullable<ChildConfig['capture']>): Promise<void> {
  const cursorPath = join(config.dataDir, 'capture-cursor');
  const first = options.first ?? 0;
  const end = first + options.count;
  let next = first;
  try {
    next = Number(readFileSync(cursorPath, 'utf8').trim());
  } catch {
    // first start: nothing captured yet
  }
  for (const { id } of agent.spool.list()) {
    const { meta } = await agent.spool.read(id);
    const seq = meta.frame.seq ?? -1;
    if (seq >= next) next = seq + 1;
  }
  emit({ type: 'capture-resumed', next });
  while (next < end) {
    while (agent.online && agent.spool.list().length >= options.highWater) await new Promise((r) => setTimeout(r, options.tickMs));
    for (let k = 0; k < options.perTick && next < end; k++) {
      const seq = next;
      const added = await agent.spool.add({ image: sampleImage(seq, options.bytes), model: { name: 'soak', version: 1 }, reasons: ['soak'], prediction: { seq }, frame: { seq } });
      // Advanced synchronously after the commit: no upload of this sample can finish before.
      writeFileSync(`${cursorPath}.tmp`, String(seq + 1));
      renameSync(`${cursorPath}.tmp`, cursorPath);
      next = seq + 1;
      emit({ type: 'captured', seq, id: added.stored ? added.id : null, evicted: added.evicted, reason: added.stored ? undefined : added.reason });
      agent.samplesAdded();
    }
    await new Promise((r) => setTimeout(r, options.tickMs));
  }
  emit({ type: 'capture-done', next });
}
