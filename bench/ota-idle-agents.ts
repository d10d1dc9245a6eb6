// Server-side memory of idle device agents: N idle agents (default 1,000; in this process, the
// real DeviceAgent with its own credentials and data dir under a temp folder) connect to one
// fleet server + embedded aedes broker running in a child process. The child's resident memory
// (VmRSS from /proc/<pid>/status) is read before and after the agents connect: the difference
// divided by N is the server-side cost of one idle agent. Connection setup is bounded in time.
//
// This file also holds the server child (`--child`) that bench/ota-fleet-delivery.ts forks.
//
// Run: npx tsc -b bench && node bench/dist/ota-idle-agents.js [--agents 1000] [--connect-timeout-s 300] [--ramp 20 | --burst]
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { TrustStore, generateKeyPair } from '@edgeloop/bundle';
import { BundleModelHost, DeviceAgent, FleetServer, provisionDevice, provisionServer, startBroker } from '@edgeloop/ota';

// ---------------------------------------------------------------------------------------------
// The server child: embedded broker + fleet server, driven over the fork IPC channel.

export type ChildRequest =
  | { type: 'add-bundle'; path: string; chunkBytes?: number }
  | { type: 'assign'; deviceIds: string[]; sha256: string }
  | { type: 'stats' }
  | { type: 'stop' };

export type ChildReply =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'added'; sha256: string; bytes: number }
  | { type: 'assigned' }
  | {
    type: 'stats'; rssKiB: number; heapUsed: number; bytesServed: number; chunksServed: number; chunksRequested: number; chunksCoalesced: number;
    clients: number; auth: { fileLoads: number; checks: number; cacheHits: number; joined: number; abandoned: number };
  }
  | { type: 'error'; message: string };

export async function readRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

async function runChild(dataDir: string): Promise<void> {
  const send = (reply: ChildReply): void => {
    process.send?.(reply);
  };
  const creds = await provisionServer(dataDir);
  const server = new FleetServer({ dataDir, broker: { url: 'mqtt://127.0.0.1:1', username: creds.username, password: creds.password } });
  const broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, assignments: server.store });
  (server.options.broker as { url: string }).url = broker.url;
  await server.start();
  process.on('message', (raw: ChildRequest) => {
    void (async () => {
      try {
        switch (raw.type) {
          case 'add-bundle': {
            const record = await server.store.addBundle(raw.path, raw.chunkBytes !== undefined ? { chunkBytes: raw.chunkBytes } : {});
            send({ type: 'added', sha256: record.sha256, bytes: record.size });
            break;
          }
          case 'assign':
            for (const id of raw.deviceIds) await server.assign(id, raw.sha256);
            send({ type: 'assigned' });
            break;
          case 'stats':
            send({
              type: 'stats', rssKiB: await readRssKiB(process.pid), heapUsed: process.memoryUsage().heapUsed,
              bytesServed: server.stats.bytesServed, chunksServed: server.stats.chunksServed, chunksRequested: server.stats.chunksRequested,
              chunksCoalesced: server.stats.chunksCoalesced, clients: broker.aedes.connectedClients, auth: { ...broker.authStats },
            });
            break;
          case 'stop':
            await server.stop().catch(() => undefined);
            await broker.close().catch(() => undefined);
            process.exit(0);
        }
      } catch (error) {
        send({ type: 'error', message: String(error) });
      }
    })();
  });
  send({ type: 'ready', url: broker.url, pid: process.pid });
}

/** A forked server child with request/reply helpers (replies arrive in request order). */
export interface ServerChild {
  child: ChildProcess;
  url: string;
  pid: number;
  request<T extends ChildReply['type']>(message: ChildRequest, expect: T, timeoutMs?: number): Promise<Extract<ChildReply, { type: T }>>;
  stop(): Promise<void>;
}

export async function forkServerChild(dataDir: string): Promise<ServerChild> {
  const script = new URL(import.meta.url).pathname;
  const child = fork(script, ['--child', dataDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: Array<(reply: ChildReply) => void> = [];
  child.on('message', (reply: ChildReply) => waiting.shift()?.(reply));
  const next = (timeoutMs: number): Promise<ChildReply> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server child did not answer within ${timeoutMs} ms`)), timeoutMs);
    waiting.push((reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
  const ready = await next(60_000);
  if (ready.type !== 'ready') throw new Error(`server child: ${JSON.stringify(ready)}`);
  return {
    child,
    url: ready.url,
    pid: ready.pid,
    async request(message, expect, timeoutMs = 120_000) {
      const reply = next(timeoutMs);
      child.send(message);
      const got = await reply;
      if (got.type !== expect) throw new Error(`server child: expected ${expect}, got ${JSON.stringify(got)}`);
      return got as never;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' } satisfies ChildRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Provisions `${prefix}-0` … `${prefix}-${count - 1}`, 50 at a time; returns their passwords in order. */
export async function provisionMany(dataDir: string, prefix: string, count: number): Promise<string[]> {
  const passwords: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => provisionDevice(dataDir, `${prefix}-${i + j}`));
    for (const issued of await Promise.all(batch)) passwords.push(issued.password);
  }
  return passwords;
}

export function machineNote(): string {
  const [one, five] = loadavg();
  return `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${one.toFixed(2)} / ${five.toFixed(2)} (1 / 5 min) at start; ` +
    'shared with other work, so absolute numbers are noisy — compare with the same-run baselines';
}

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

async function main(): Promise<void> {
  const count = arg('agents', 1000);
  const connectTimeoutS = arg('connect-timeout-s', 300);
  console.log(`ota-idle-agents: ${count} idle DeviceAgents (this process) -> fleet server + embedded aedes (child process) on 127.0.0.1`);
  console.log(machineNote());
  const root = await mkdtemp(join(tmpdir(), 'edgeloop-bench-idle-'));
  const serverDir = join(root, 'server');
  let server: ServerChild | undefined;
  const agents: DeviceAgent[] = [];
  try {
    const key = generateKeyPair();
    const trust = TrustStore.fromPems([key.publicKeyPem]);
    // Provision first (scrypt per device; concurrent calls share credentials.json rewrites), then start the child.
    let t = performance.now();
    const passwords = await provisionMany(serverDir, 'idle', count);
    const provisionS = (performance.now() - t) / 1000;
    console.log(`provisioned ${count} devices in ${provisionS.toFixed(1)} s (${((provisionS * 1000) / count).toFixed(1)} ms each; scrypt per device, 50 at a time, grouped rewrites of credentials.json)`);

    server = await forkServerChild(serverDir);
    await new Promise((r) => setTimeout(r, 500));
    const before = await server.request({ type: 'stats' }, 'stats');
    const beforeRss = await readRssKiB(server.pid);
    console.log(`server child pid ${server.pid}: VmRSS before agents ${mib(beforeRss)} MiB (heapUsed ${(before.heapUsed / 1048576).toFixed(1)} MiB, ${before.clients} client(s): the server itself)`);

    // Ramp (default): start `--ramp` agents, wait until they are connected, then the next batch.
    // --burst: start all at once (a reconnect storm; see the header of this file's report).
    const burst = process.argv.includes('--burst');
    const ramp = burst ? count : arg('ramp', 20);
    const isConnected = (a: DeviceAgent): boolean => (a as unknown as { link?: { connected: boolean } }).link?.connected === true;
    t = performance.now();
    const deadline = Date.now() + connectTimeoutS * 1000;
    let connected = 0;
    let lastPrint = Date.now();
    for (let i = 0; i < count && Date.now() < deadline; i += ramp) {
      const batch: DeviceAgent[] = [];
      for (let j = i; j < Math.min(count, i + ramp); j++) {
        const deviceId = `idle-${j}`;
        batch.push(new DeviceAgent({
          dataDir: join(root, 'devices', deviceId), deviceId, profile: 'raspberry-pi-4', trust, host: new BundleModelHost(trust),
          broker: { url: server.url, password: passwords[j] },
        }));
      }
      agents.push(...batch);
      await Promise.all(batch.map((a) => a.start()));
      for (;;) {
        connected = agents.reduce((n, a) => n + (isConnected(a) ? 1 : 0), 0);
        if (connected === agents.length || Date.now() > deadline) break;
        if (Date.now() - lastPrint > 10_000) {
          console.log(`  ... ${connected}/${count} connected after ${((performance.now() - t) / 1000).toFixed(1)} s`);
          lastPrint = Date.now();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const startedS = (performance.now() - t) / 1000;
    console.log(`mode: ${burst ? 'burst (all agents started at once)' : `ramp (${ramp} agents at a time, each batch connected before the next)`}`);
    const connectS = (performance.now() - t) / 1000;
    console.log(`agents started in ${startedS.toFixed(1)} s; ${connected}/${count} connected after ${connectS.toFixed(1)} s ` +
      `(${((connectS * 1000) / Math.max(connected, 1)).toFixed(1)} ms per agent; bound ${connectTimeoutS} s)`);
    if (connected < count) console.log(`WARNING: only ${connected}/${count} agents connected within ${connectTimeoutS} s`);

    // Let the initial state/status/desired exchange finish, then sample RSS a few times (bounded).
    await new Promise((r) => setTimeout(r, 3000));
    const samples: number[] = [];
    let after = await server.request({ type: 'stats' }, 'stats');
    for (let k = 0; k < 5; k++) {
      samples.push(await readRssKiB(server.pid));
      await new Promise((r) => setTimeout(r, 1000));
    }
    after = await server.request({ type: 'stats' }, 'stats');
    const afterRss = [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
    const perAgentKiB = (afterRss - beforeRss) / Math.max(connected, 1);
    console.log(`server child VmRSS after ${connected} idle agents: ${mib(afterRss)} MiB (median of 5 samples 1 s apart: ${samples.map(mib).join(', ')}); ` +
      `heapUsed ${(after.heapUsed / 1048576).toFixed(1)} MiB; broker clients ${after.clients}`);
    console.log(`broker authentication: ${after.auth.checks} scrypt checks, ${after.auth.cacheHits} answered from the cache, ${after.auth.joined} joined a running check, ` +
      `${after.auth.abandoned} dropped (client gone), credentials.json read ${after.auth.fileLoads} time(s)`);
    console.log(`server-side cost: +${mib(afterRss - beforeRss)} MiB for ${connected} agents = ${perAgentKiB.toFixed(1)} KiB per idle agent`);
    const parentRss = await readRssKiB(process.pid);
    console.log(`(agents' process VmRSS: ${mib(parentRss)} MiB = ${(parentRss / Math.max(count, 1)).toFixed(0)} KiB per agent incl. the Node baseline)`);
  } finally {
    const t = performance.now();
    // Bounded shutdown: agents in batches, each stop capped at 5 s.
    for (let i = 0; i < agents.length; i += 100) {
      await Promise.all(agents.slice(i, i + 100).map((a) => Promise.race([a.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))])));
    }
    await server?.stop();
    console.log(`shutdown in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  runChild(process.argv[3]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (process.argv[1] === new URL(import.meta.url).pathname) {
  main().then(() => process.exit(0), (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
