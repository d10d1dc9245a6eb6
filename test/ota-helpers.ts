// Shared setup for the OTA integration tests (test/ota-*.test.ts): real bundles signed with
// createBundle, the embedded broker over TCP on 127.0.0.1, a fleet server and device agents.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { TrustStore, createBundle, encodeTensor, generateKeyPair } from '@edgeloop/bundle';
import type { CreatedBundle, KeyPair, ManifestInput } from '@edgeloop/bundle';
import { BundleModelHost, DeviceAgent, FleetServer, loadCredentials, provisionDevice, provisionServer, startBroker, writeMosquittoFiles } from '@edgeloop/ota';
import type { DeviceAgentOptions, InstallEvent } from '@edgeloop/ota';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export async function tempDir(prefix: string, base = tmpdir()): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(base, `edgeloop-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function manifestInput(version: number, targetProfile: string): ManifestInput {
  return {
    name: 'digits',
    version,
    task: 'classification',
    labels: ['zero', 'one', 'two'],
    targetProfile,
    model: {
      path: 'model.onnx',
      inputs: [{
        name: 'input', dtype: 'float32', shape: ['batch', 1, 4, 4],
        preprocessing: { width: 4, height: 4, resize: 'stretch', colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.5], std: [0.25] },
      }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 3], postprocessing: { format: 'logits' } }],
      opset: 17,
      precision: 'int8',
    },
    provenance: version > 1 ? { parentVersion: version - 1, createdBy: 'ota-test' } : { createdBy: 'ota-test' },
    metrics: { accuracy: 0.97 },
    golden: [{
      inputs: { input: { member: 'golden/0/input.bin', dtype: 'float32', dims: [1, 1, 4, 4] } },
      outputs: { logits: { member: 'golden/0/logits.bin', dtype: 'float32', dims: [1, 3] } },
      tolerance: { abs: 1e-3, rel: 1e-2 },
    }],
  };
}

/** A real signed bundle with `modelBytes` of incompressible member data. */
export async function makeBundle(dir: string, options: { version: number; profile?: string; modelBytes?: number; key: KeyPair; name?: string }): Promise<CreatedBundle & { path: string }> {
  const path = join(dir, options.name ?? `v${options.version}-${randomBytes(3).toString('hex')}.elb`);
  const created = await createBundle({
    outPath: path,
    manifest: manifestInput(options.version, options.profile ?? 'raspberry-pi-4'),
    members: [
      { path: 'model.onnx', role: 'model', data: randomBytes(options.modelBytes ?? 64 * 1024) },
      { path: 'golden/0/input.bin', role: 'golden', data: encodeTensor('float32', Array.from({ length: 16 }, (_, i) => i / 16)) },
      { path: 'golden/0/logits.bin', role: 'golden', data: encodeTensor('float32', [0.1, 2.5, -1]) },
    ],
    privateKeyPem: options.key.privateKeyPem,
  });
  return { ...created, path };
}

/** A running broker the tests can restart on the same port. */
export interface BrokerHandle {
  readonly url: string;
  readonly port: number;
  /** Stops the broker, waits `downMs` and then for `whileDown` (if given), and starts it again on the same port. */
  restart(downMs?: number, whileDown?: () => Promise<void>): Promise<void>;
  /** Re-reads credentials and assignments (mosquitto: regenerate files + SIGHUP). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export async function startAedes(serverDir: string, assignments: FleetServer['store']): Promise<BrokerHandle> {
  let broker = await startBroker({ dataDir: serverDir, host: '127.0.0.1', port: 0, assignments });
  return {
    get url() {
      return broker.url;
    },
    get port() {
      return broker.port;
    },
    async restart(downMs = 200, whileDown) {
      const port = broker.port;
      await broker.close();
      await new Promise((r) => setTimeout(r, downMs));
      await whileDown?.();
      broker = await startBroker({ dataDir: serverDir, host: '127.0.0.1', port, assignments });
    },
    async reload() {
      // The embedded broker reads credentials on every CONNECT and assignments from the store.
    },
    close: () => broker.close(),
  };
}

/** A real mosquitto on a free loopback port with the generated password_file and acl_file. */
export async function startMosquitto(serverDir: string, assignments: () => Map<string, string[]>): Promise<BrokerHandle> {
  const port = await freePort();
  const dir = join(serverDir, 'mosquitto');
  const write = async (): Promise<string> =>
    (await writeMosquittoFiles(dir, await loadCredentials(serverDir), assignments(), { host: '127.0.0.1', port, user: userInfo().username })).configFile;
  let child = await spawnMosquitto(await write(), port);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async restart(downMs = 200, whileDown) {
      await stopChild(child);
      await new Promise((r) => setTimeout(r, downMs));
      await whileDown?.();
      child = await spawnMosquitto(await write(), port);
    },
    async reload() {
      await write();
      child.kill('SIGHUP');
      // mosquitto gives no signal that the reload finished; it is quick on small files.
      await new Promise((r) => setTimeout(r, 150));
    },
    close: () => stopChild(child),
  };
}

async function spawnMosquitto(configFile: string, port: number): Promise<ChildProcess> {
  const child = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not listen on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export interface Fleet {
  root: string;
  serverDir: string;
  key: KeyPair;
  trust: TrustStore;
  serverCredentials: { username: string; password: string };
  broker: BrokerHandle;
  server: FleetServer;
  /** Restarts the broker on the same port (its in-memory state, retained messages included, is lost). */
  restartBroker(downMs?: number, whileDown?: () => Promise<void>): Promise<void>;
  /** Issues a device's credentials once (and reloads the broker); returns its password. */
  provision(deviceId: string): Promise<string>;
  agent(deviceId: string, options?: Partial<DeviceAgentOptions> & { dataDir?: string }): Promise<{ agent: DeviceAgent; host: BundleModelHost; dataDir: string; password: string }>;
  close(): Promise<void>;
}

/** `tmp`: where the fleet's temporary root goes (default the OS temp dir; e.g. /dev/shm where fsync cost is not what a test measures). */
export async function startFleet(options: { broker?: 'aedes' | 'mosquitto'; tmp?: string } = {}): Promise<Fleet> {
  const root = await tempDir('ota', options.tmp);
  const serverDir = join(root.path, 'server');
  const key = generateKeyPair();
  const trust = TrustStore.fromPems([key.publicKeyPem]);
  const serverCreds = await provisionServer(serverDir);
  const brokerRef: { current?: BrokerHandle } = {};
  const server = new FleetServer({
    dataDir: serverDir,
    broker: { url: 'mqtt://127.0.0.1:1', username: serverCreds.username, password: serverCreds.password },
    onAssignmentsChanged: async () => brokerRef.current?.reload(),
  });
  const handle = options.broker === 'mosquitto'
    ? await startMosquitto(serverDir, () => server.store.assignmentMap())
    : await startAedes(serverDir, server.store);
  brokerRef.current = handle;
  (server.options.broker as { url: string }).url = handle.url;
  await server.start();
  const agents: DeviceAgent[] = [];
  const passwords = new Map<string, string>();
  const provision = async (deviceId: string): Promise<string> => {
    let password = passwords.get(deviceId);
    if (password === undefined) {
      password = (await provisionDevice(serverDir, deviceId)).password;
      passwords.set(deviceId, password);
      await handle.reload();
    }
    return password;
  };
  return {
    root: root.path,
    serverDir,
    key,
    trust,
    serverCredentials: { username: serverCreds.username, password: serverCreds.password },
    broker: handle,
    server,
    restartBroker: (downMs, whileDown) => handle.restart(downMs, whileDown),
    provision,
    async agent(deviceId, agentOptions = {}) {
      const password = await provision(deviceId);
      const dataDir = agentOptions.dataDir ?? join(root.path, 'devices', deviceId);
      const host = new BundleModelHost(trust);
      const agent = new DeviceAgent({
        dataDir, deviceId, profile: 'raspberry-pi-4', trust, host,
        broker: { url: handle.url, password },
        requestTimeoutMs: 2000,
        ...agentOptions,
      });
      await agent.start();
      agents.push(agent);
      return { agent, host, dataDir, password };
    },
    async close() {
      for (const agent of agents) await agent.stop().catch(() => undefined);
      await server.stop().catch(() => undefined);
      await handle.close().catch(() => undefined);
      await root.remove();
    },
  };
}

/** Resolves with the first install event matching `predicate` (rejects after `timeoutMs`). */
export function nextEvent(agent: DeviceAgent, predicate: (event: InstallEvent) => boolean, timeoutMs = 30_000): Promise<InstallEvent> {
  return waitForEmit(agent, 'event', predicate, timeoutMs);
}

export function waitForEmit<T>(emitter: EventEmitter, name: string, predicate: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${name}`));
    }, timeoutMs);
    const listener = (value: T): void => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(value);
    };
    emitter.on(name, listener);
  });
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether `openssl` is on the PATH (the TLS tests make a throwaway broker certificate with it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed P-256 certificate for a broker on 127.0.0.1, valid one day. */
export function makeTestCertificate(dir: string): { keyPath: string; certPath: string } {
  const keyPath = join(dir, 'broker.key');
  const certPath = join(dir, 'broker.crt');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=edgeloop-test-broker', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'ignore' });
  return { keyPath, certPath };
}

/**
 * Sample `seq` of the soak tests: `bytes` bytes that start and end like a JPEG (the spool keeps
 * JPEG bytes as they are), a pure function of (seq, bytes) so a test knows every hash in advance.
 */
export function sampleImage(seq: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let block = createHash('sha256').update(`edgeloop-sample-${seq}`).digest();
  for (let at = 0; at < bytes; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  out.set([0xff, 0xd8, 0xff, 0xe0], 0);
  out.set([0xff, 0xd9], bytes - 2);
  return out;
}
