// OTA bundle delivery over the embedded aedes broker on 127.0.0.1, against baselines from the same run:
//  (a) One DeviceAgent downloading a 10 MB signed bundle from the FleetServer (all in this process,
//      as in test/ota-delivery.test.ts), MB/s from the agent's download stats, over a grid of chunk
//      sizes (server/store option) x request windows (agent option). Baseline: aedes alone (same
//      startBroker, auth/ACL on) moving 10 MiB as 256 KiB messages publisher -> subscriber, QoS 0
//      and QoS 1, in this process. The ratio agent/baseline is the transfer overhead.
//  (b) 50 agents (this process) all assigned the same 10 MB bundle, served by a fleet server +
//      embedded broker in a child process (bench/ota-idle-agents.ts --child): time from assign
//      until all 50 verified and activated it, MB delivered, the server child's VmRSS.
// Run: npx tsc -b bench && node bench/dist/ota-fleet-delivery.js [--mb 10] [--agents 50] [--passes 2] [--b-timeout-s 180]\n//      (--only-a / --only-b [--chunk-kib 256 --window 16] run one part; --only-b uses the given setting; --flush-every N sets the agent's flushEveryChunks in part (a))
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TrustStore, createBundle, encodeTensor, generateKeyPair } from '@edgeloop/bundle';
import type { KeyPair, ManifestInput } from '@edgeloop/bundle';
import {
  BundleModelHost, DEFAULT_MAX_PACKET_BYTES, DeviceAgent, FleetServer, chunkBytesFor, provisionDevice, provisionServer, startBroker,
} from '@edgeloop/ota';
import type { InstallEvent } from '@edgeloop/ota';
import mqtt from 'mqtt';

import { forkServerChild, machineNote, provisionMany, readRssKiB } from './ota-idle-agents.js';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function hasArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (kib: number): string => (kib / 1024).toFixed(1);

function manifest(version: number): ManifestInput {
  return {
    name: 'bench-model', version, task: 'classification', labels: ['a', 'b', 'c'], targetProfile: 'raspberry-pi-4',
    model: {
      path: 'model.onnx',
      inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 4, 4], preprocessing: { width: 4, height: 4, resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.5], std: [0.25] } }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 3], postprocessing: { format: 'logits' } }],
      opset: 17, precision: 'int8',
    },
    provenance: { createdBy: 'ota-fleet-delivery bench' },
    metrics: { accuracy: 0.97 },
    golden: [{
      inputs: { input: { member: 'golden/0/input.bin', dtype: 'float32', dims: [1, 1, 4, 4] } },
      outputs: { logits: { member: 'golden/0/logits.bin', dtype: 'float32', dims: [1, 3] } },
      tolerance: { abs: 1e-3, rel: 1e-2 },
    }],
  };
}

/** A real signed bundle whose model member is `bytes` of incompressible data. */
async function makeBundle(dir: string, key: KeyPair, bytes: number, tag: string): Promise<{ path: string; bytes: number }> {
  const path = join(dir, `bundle-${tag}.elb`);
  const created = await createBundle({
    outPath: path, manifest: manifest(1), privateKeyPem: key.privateKeyPem,
    members: [
      { path: 'model.onnx', role: 'model', data: randomBytes(bytes) },
      { path: 'golden/0/input.bin', role: 'golden', data: encodeTensor('float32', Array.from({ length: 16 }, (_, i) => i / 16)) },
      { path: 'golden/0/logits.bin', role: 'golden', data: encodeTensor('float32', [0.1, 2.5, -1]) },
    ],
  });
  return { path, bytes: created.bytes };
}

function waitEvent(agent: DeviceAgent, predicate: (e: InstallEvent) => boolean, timeoutMs: number): Promise<InstallEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      agent.off('event', listener);
      reject(new Error(`${agent.options.deviceId}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (e: InstallEvent): void => {
      if (e.phase === 'failed' || e.phase === 'rejected') {
        clearTimeout(timer);
        agent.off('event', listener);
        reject(new Error(`${agent.options.deviceId}: ${e.phase}: ${JSON.stringify(e)}`));
        return;
      }
      if (!predicate(e)) return;
      clearTimeout(timer);
      agent.off('event', listener);
      resolve(e);
    };
    agent.on('event', listener);
  });
}

/** aedes alone: 10 MiB as `size`-byte messages publisher -> subscriber at `qos`; MB/s (1e6 bytes). */
/** CPU time (user + system, all threads of this process) per MB since `start`: less sensitive to other load than MB/s. */
function cpuMsPerMB(start: NodeJS.CpuUsage, bytes: number): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / (bytes / 1e6);
}

async function baseline(url: string, pub: { username: string; password: string }, sub: { username: string; password: string }, qos: 0 | 1, size: number, total: number): Promise<{ mbps: number; cpu: number }> {
  const topic = 'edgeloop/v1/bench/baseline';
  const subscriber = await mqtt.connectAsync(url, { clientId: `${sub.username}-${Date.now()}`, username: sub.username, password: sub.password, reconnectPeriod: 0 });
  const publisher = await mqtt.connectAsync(url, { clientId: `${pub.username}-${Date.now()}`, username: pub.username, password: pub.password, reconnectPeriod: 0 });
  try {
    await subscriber.subscribeAsync(topic, { qos });
    const count = Math.ceil(total / size);
    const payload = randomBytes(size);
    let received = 0;
    let bytes = 0;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`baseline qos ${qos}: ${received}/${count} after 60 s`)), 60_000);
      subscriber.on('message', (_t, message) => {
        received++;
        bytes += message.length;
        if (received === count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const t = performance.now();
    const cpu = process.cpuUsage();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) sent.push(publisher.publishAsync(topic, payload, { qos }));
    await Promise.all(sent);
    await done;
    return { mbps: bytes / 1e6 / ((performance.now() - t) / 1000), cpu: cpuMsPerMB(cpu, bytes) };
  } finally {
    await publisher.endAsync(true);
    await subscriber.endAsync(true);
  }
}

async function partA(root: string, key: KeyPair, trust: TrustStore, bundleBytes: number, passes: number): Promise<{ chunkBytes: number; window: number }> {
  const dir = join(root, 'a');
  const serverCreds = await provisionServer(dir);
  const pubCreds = await provisionServer(dir, 'bench-pub');
  const subCreds = await provisionServer(dir, 'bench-sub');
  const server = new FleetServer({ dataDir: dir, broker: { url: 'mqtt://127.0.0.1:1', username: serverCreds.username, password: serverCreds.password } });
  const broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, assignments: server.store });
  (server.options.broker as { url: string }).url = broker.url;
  await server.start();
  const agents: DeviceAgent[] = [];
  try {
    // --- baseline: aedes alone ---
    const total = 10 * 1024 * 1024;
    const base: Record<string, number[]> = { q0: [], q1: [], q0cpu: [], q1cpu: [] };
    for (let p = 0; p < 3; p++) {
      const r0 = await baseline(broker.url, pubCreds, subCreds, 0, 256 * 1024, total);
      const r1 = await baseline(broker.url, pubCreds, subCreds, 1, 256 * 1024, total);
      base.q0.push(r0.mbps);
      base.q0cpu.push(r0.cpu);
      base.q1.push(r1.mbps);
      base.q1cpu.push(r1.cpu);
    }
    const q0 = median(base.q0);
    const q1 = median(base.q1);
    console.log(`(a) baseline aedes alone, 10 MiB as 256 KiB messages pub->sub, same process, median of 3: QoS 0 ${q0.toFixed(1)} MB/s [${base.q0.map((v) => v.toFixed(0)).join(', ')}], ` +
      `QoS 1 ${q1.toFixed(1)} MB/s [${base.q1.map((v) => v.toFixed(0)).join(', ')}]; CPU ms per MB: QoS 0 ${median(base.q0cpu).toFixed(2)}, QoS 1 ${median(base.q1cpu).toFixed(2)}`);

    // --- agent downloads over a grid ---
    const maxChunk = chunkBytesFor(DEFAULT_MAX_PACKET_BYTES, DEFAULT_MAX_PACKET_BYTES);
    // --chunk-kib / --window with --only-a: measure just that setting instead of the grid.
    const chunkSizes = hasArg('chunk-kib') ? [Math.min(maxChunk, arg('chunk-kib', 256) * 1024)] : [64 * 1024, 256 * 1024, 512 * 1024, maxChunk];
    const windows = hasArg('window') ? [arg('window', 8)] : [2, 4, 8, 16, 32];
    console.log(`(a) one agent, ${(bundleBytes / 1e6).toFixed(1)} MB bundle, ${passes} pass(es) per setting; MB/s = bundle bytes / downloader seconds (request -> all chunks verified on disk); ` +
      `"activated" = assign -> activated (adds verify, stage, health check); "CPU ms/MB" = this process's CPU time (server + broker + agent) from assign to downloaded, per MB`);
    console.log('  chunk KiB  window   MB/s (passes)          median  vs QoS1  activated s  CPU ms/MB');
    let best = { chunkBytes: 256 * 1024, window: 8, mbps: 0 };
    let n = 0;
    for (const chunkBytes of chunkSizes) {
      const bundle = await makeBundle(dir, key, bundleBytes, `c${chunkBytes}`);
      const record = await server.store.addBundle(bundle.path, { chunkBytes });
      for (const window of windows) {
        const rates: number[] = [];
        const activatedS: number[] = [];
        const cpus: number[] = [];
        for (let p = 0; p < passes; p++) {
          const deviceId = `dev-${n++}`;
          const password = (await provisionDevice(dir, deviceId)).password;
          const agent = new DeviceAgent({
            dataDir: join(dir, 'devices', deviceId), deviceId, profile: 'raspberry-pi-4', trust, host: new BundleModelHost(trust),
            broker: { url: broker.url, password }, window, requestTimeoutMs: 5000,
            ...(hasArg('flush-every') ? { flushEveryChunks: arg('flush-every', 8) } : {}),
          });
          agents.push(agent);
          await agent.start();
          const downloaded = waitEvent(agent, (e) => e.phase === 'downloaded' && e.bundle === record.sha256, 120_000);
          const activated = waitEvent(agent, (e) => e.phase === 'activated' && e.bundle === record.sha256, 120_000);
          const t = performance.now();
          const cpu = process.cpuUsage();
          await server.assign(deviceId, record.sha256);
          const d = await downloaded;
          cpus.push(cpuMsPerMB(cpu, record.size));
          await activated;
          activatedS.push((performance.now() - t) / 1000);
          const seconds = d.stats?.seconds ?? NaN;
          rates.push(record.size / 1e6 / seconds);
          if ((d.stats?.corruptChunks ?? 0) > 0 || (d.stats?.timeouts ?? 0) > 0) console.log(`    note: ${deviceId} corrupt ${d.stats?.corruptChunks} timeouts ${d.stats?.timeouts}`);
          await agent.stop();
          await server.assign(deviceId, null);
        }
        const m = median(rates);
        if (m > best.mbps) best = { chunkBytes, window, mbps: m };
        console.log(`  ${String(chunkBytes / 1024).padStart(9)}  ${String(window).padStart(6)}   ${rates.map((r) => r.toFixed(1)).join(', ').padEnd(20)}  ${m.toFixed(1).padStart(6)}  ${(m / q1).toFixed(2).padStart(6)}  ${median(activatedS).toFixed(2).padStart(11)}  ${median(cpus).toFixed(2).padStart(9)}`);
      }
    }
    console.log(`(a) best: chunk ${best.chunkBytes / 1024} KiB, window ${best.window}: ${best.mbps.toFixed(1)} MB/s (target >= 100 MB/s; ` +
      `${(best.mbps / q1).toFixed(2)}x the aedes QoS 1 baseline, ${(best.mbps / q0).toFixed(2)}x QoS 0)`);
    return best;
  } finally {
    for (const agent of agents) await Promise.race([agent.stop().catch(() => undefined), sleep(5000)]);
    await server.stop().catch(() => undefined);
    await broker.close().catch(() => undefined);
  }
}

async function partB(root: string, key: KeyPair, trust: TrustStore, bundleBytes: number, count: number, setting: { chunkBytes: number; window: number }): Promise<void> {
  const dir = join(root, 'b');
  const passwords = await provisionMany(dir, 'fleet', count);
  const server = await forkServerChild(dir);
  const agents: DeviceAgent[] = [];
  try {
    const bundle = await makeBundle(root, key, bundleBytes, 'fleet');
    const added = await server.request({ type: 'add-bundle', path: bundle.path, chunkBytes: setting.chunkBytes }, 'added');
    for (let i = 0; i < count; i++) {
      const deviceId = `fleet-${i}`;
      agents.push(new DeviceAgent({
        dataDir: join(dir, 'devices', deviceId), deviceId, profile: 'raspberry-pi-4', trust, host: new BundleModelHost(trust),
        broker: { url: server.url, password: passwords[i] }, window: setting.window, requestTimeoutMs: 5000,
      }));
    }
    await Promise.all(agents.map((a) => a.start()));
    const connectDeadline = Date.now() + 120_000;
    while (agents.some((a) => (a as unknown as { link?: { connected: boolean } }).link?.connected !== true)) {
      if (Date.now() > connectDeadline) throw new Error('agents did not connect within 120 s');
      await sleep(100);
    }
    await sleep(1000);
    const rssBefore = await readRssKiB(server.pid);
    const activatedAt: number[] = [];
    const boundS = arg('b-timeout-s', 180);
    const failures: string[] = [];
    const all = Promise.all(agents.map((a) => waitEvent(a, (e) => e.phase === 'activated' && e.bundle === added.sha256, boundS * 1000)
      .then(() => activatedAt.push(performance.now()), (error: unknown) => failures.push(String(error)))));
    let rssPeak = rssBefore;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssPeak = Math.max(rssPeak, await readRssKiB(server.pid).catch(() => 0));
        await sleep(200);
      }
    })();
    const t = performance.now();
    await server.request({ type: 'assign', deviceIds: agents.map((a) => a.options.deviceId), sha256: added.sha256 }, 'assigned');
    const assignedS = (performance.now() - t) / 1000;
    try {
      await all;
    } finally {
      sampling = false;
      await sampler;
    }
    const seconds = (performance.now() - t) / 1000;
    if (failures.length > 0) console.log(`(b) WARNING: ${failures.length}/${count} agents did not activate within ${boundS} s (first: ${failures[0]})`);
    const firstS = (Math.min(...activatedAt) - t) / 1000;
    const stats = await server.request({ type: 'stats' }, 'stats');
    const received = agents.reduce((s, a) => s + (a.lastDownload?.bytesReceived ?? 0), 0);
    const refetched = agents.reduce((s, a) => s + (a.lastDownload?.refetchedBytes ?? 0), 0);
    const timeouts = agents.reduce((s, a) => s + (a.lastDownload?.timeouts ?? 0), 0);
    console.log(`(b) ${count} agents (this process) <- fleet server + aedes (child pid ${server.pid}), ${(added.bytes / 1e6).toFixed(1)} MB bundle, chunk ${setting.chunkBytes / 1024} KiB, window ${setting.window}`);
    console.log(`(b) ${activatedAt.length}/${count} verified + activated in ${seconds.toFixed(1)} s (target < 30 s; first at ${firstS.toFixed(1)} s; assign() of all ${count} took ${assignedS.toFixed(1)} s)`);
    console.log(`(b) requests: ${stats.chunksRequested} chunk indices requested, ${stats.chunksCoalesced} answered by a copy already sent (coalesced), ${stats.chunksServed} copies published ` +
      `(${(stats.chunksServed / Math.ceil(added.bytes / setting.chunkBytes)).toFixed(2)} per chunk of the bundle; ${count} without coalescing at the least)`);
    console.log(`(b) delivered: server sent ${(stats.bytesServed / 1e6).toFixed(1)} MB in ${stats.chunksServed} chunks (${(stats.bytesServed / 1e6 / seconds).toFixed(1)} MB/s aggregate); ` +
      `agents received ${(received / 1e6).toFixed(1)} MB (ideal ${((count * added.bytes) / 1e6).toFixed(1)} MB; refetched ${(refetched / 1e6).toFixed(1)} MB, ${timeouts} request timeouts)`);
    console.log(`(b) server child VmRSS: ${mib(rssBefore)} MiB before assign, peak ${mib(rssPeak)} MiB during delivery (sampled every 200 ms), ${mib(stats.rssKiB)} MiB after; ` +
      `agents' process VmRSS ${mib(await readRssKiB(process.pid))} MiB`);
  } finally {
    for (const agent of agents) await Promise.race([agent.stop().catch(() => undefined), sleep(5000)]);
    await server.stop();
  }
}

async function main(): Promise<void> {
  const bundleBytes = Math.round(arg('mb', 10) * 1e6);
  const count = arg('agents', 50);
  const passes = arg('passes', 2);
  console.log(`ota-fleet-delivery: embedded aedes on 127.0.0.1, ${(bundleBytes / 1e6).toFixed(0)} MB signed bundles, BundleModelHost (verify only)`);
  console.log(machineNote());
  const root = await mkdtemp(join(tmpdir(), 'edgeloop-bench-delivery-'));
  try {
    const key = generateKeyPair();
    const trust = TrustStore.fromPems([key.publicKeyPem]);
    const only = process.argv.includes('--only-b') ? 'b' : process.argv.includes('--only-a') ? 'a' : 'ab';
    let best = { chunkBytes: arg('chunk-kib', 256) * 1024, window: arg('window', 8) };
    if (only.includes('a')) best = await partA(root, key, trust, bundleBytes, passes);
    if (only.includes('b')) await partB(root, key, trust, bundleBytes, count, best);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
