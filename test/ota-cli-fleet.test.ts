// The fleet as an operator runs it: `edgeloop serve` (embedded aedes on 127.0.0.1), three
// `edgeloop device` processes running the real runtime (onnxruntime) on a folder of images, and
// `edgeloop deploy` of the digits bundle made by bundleModel. Then: `fleet status`, a watch-window
// rollback of a bundle whose latency budget cannot be met, an explicit `edgeloop rollback`, and
// field samples travelling from a device's runtime spool to `samples export`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { generateKeyPair, saveKeyPair } from '@edgeloop/bundle';
import { bundleModel } from '@edgeloop/compiler';
import type { DeviceStatusRow, FleetStatus, SampleIndexEntry } from '@edgeloop/ota';
import sharp from 'sharp';

import { hasOpenssl, makeTestCertificate, stopChild, tempDir, until } from './ota-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const DIGITS = join(ROOT, 'examples/models/digits-cnn.onnx');
const DEVICES = ['cam-0', 'cam-1', 'cam-2'];

interface Line {
  type: string;
  [key: string]: unknown;
}

/** A long-running CLI child whose stdout is JSON lines. */
class CliProcess {
  readonly lines: Line[] = [];
  stdout = '';
  stderr = '';
  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      this.stdout += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(text) as Line);
        } catch {
          this.lines.push({ type: 'text', text });
        }
      }
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }
  async waitFor(predicate: (line: Line) => boolean, what: string, timeoutMs = 60_000): Promise<Line> {
    let found: Line | undefined;
    await until(() => (found = this.lines.find(predicate)) !== undefined || this.child.exitCode !== null, timeoutMs, what);
    if (found === undefined) throw new Error(`${what}: process exited ${this.child.exitCode}: ${this.stderr}`);
    return found;
  }
}

function cli(args: string[]): CliProcess {
  return new CliProcess(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EDGELOOP_DEBUG: '1' } }));
}

function cliSync(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, EDGELOOP_DEBUG: '' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a CLI command to its end without blocking the event loop (the devices' output keeps arriving). */
async function cliRun(args: string[], timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EDGELOOP_DEBUG: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  clearTimeout(timer);
  return { status, stdout, stderr };
}

/** A grey bar "digit" whose position depends on k, as PNG. */
async function digitImage(k: number): Promise<Buffer> {
  const size = 28;
  const raw = Buffer.alloc(size * size);
  for (let y = 4; y < size - 4; y++) for (let x = 0; x < 4; x++) raw[y * size + ((k * 3 + x) % size)] = 230;
  for (let i = 0; i < size; i++) raw[(k * 5 + i * 7) % raw.length] = (k * 37 + i * 11) % 255;
  return sharp(raw, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer();
}

describe('edgeloop serve + device + deploy (CLI child processes, real runtime)', () => {
  let root: Awaited<ReturnType<typeof tempDir>>;
  let srv: string;
  let serve: CliProcess;
  const devices = new Map<string, CliProcess>();
  const bundles: Record<string, string> = {};

  const status = async (): Promise<FleetStatus> => {
    const r = await cliRun(['fleet', 'status', '-d', srv, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as FleetStatus;
  };
  const row = (s: FleetStatus, id: string): DeviceStatusRow => s.devices.find((d) => d.id === id)!;

  before(async () => {
    root = await tempDir('cli-fleet');
    srv = join(root.path, 'server');
    const keys = generateKeyPair();
    await mkdir(join(srv, 'trust'), { recursive: true });
    await saveKeyPair(join(srv, 'trust', 'release'), keys);
    // The trust folder must hold public keys only.
    await rm(join(srv, 'trust', 'release.key'));
    const make = async (name: string, version: number, latencyBudgetMs?: number): Promise<void> => {
      bundles[name] = join(root.path, `${name}.elb`);
      await bundleModel({ model: DIGITS, outPath: bundles[name], privateKeyPem: keys.privateKeyPem, version, targetProfile: 'raspberry-pi-4', goldenCount: 2, ...(latencyBudgetMs !== undefined ? { latencyBudgetMs } : {}) });
    };
    await make('v1', 1, 1000);
    await make('v2-slow', 2, 0.001);
    await make('v3', 3, 1000);
    const frames = join(root.path, 'frames');
    await mkdir(frames);
    for (let k = 0; k < 12; k++) await writeFile(join(frames, `d${String(k).padStart(2, '0')}.png`), await digitImage(k));

    serve = cli(['serve', '-d', srv, '--host', '127.0.0.1', '--port', '0', '--json']);
    // `serve --json` prints one (indented) JSON document when it listens.
    await until(() => /"url": "mqtt:\/\/127\.0\.0\.1:\d+"/.test(serve.stdout) || serve.child.exitCode !== null, 30_000, 'serve started');
    assert.equal(serve.child.exitCode, null, serve.stderr);
    for (const [i, id] of DEVICES.entries()) {
      const config = join(root.path, `${id}.json`);
      const r = await cliRun(['device', 'provision', id, '-d', srv, '-o', config, '--profile', 'raspberry-pi-4', '--tag', i === 0 ? 'canary' : 'lab', '--json']);
      assert.equal(r.status, 0, r.stderr);
      // cam-0 samples every frame (baseline 1), the others only uncertain ones.
      const sampling = i === 0 ? ['--sample-baseline', '1', '--samples-per-minute', '600'] : ['--samples-per-minute', '0.001'];
      devices.set(id, cli(['device', '-c', config, '-d', join(root.path, 'devices', id), '-s', frames, '--loop', '--fps', '15', '--watch-frames', '8', '--watch-seconds', '8', '--telemetry-interval', '2', '--json', ...sampling]));
    }
    for (const [id, p] of devices) await p.waitFor((l) => l.type === 'started', `${id} started`, 60_000);
  });

  after(async () => {
    for (const p of devices.values()) await stopChild(p.child);
    if (serve !== undefined) await stopChild(serve.child);
    await root?.remove();
  });

  it('deploys the digits bundle to three devices running the runtime; fleet status shows them', async () => {
    const provisioned = JSON.parse(await readFile(join(root.path, 'cam-0.json'), 'utf8')) as { id: string; server: { url: string; password: string }; trustedKeys: string[] };
    assert.equal(provisioned.id, 'cam-0');
    assert.match(provisioned.server.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(provisioned.trustedKeys.length, 1);

    const r = await cliRun(['deploy', bundles.v1, '-d', srv, '--canary', '1', '--max-failures', '0', '--wave-timeout', '90', '--json']);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout) as { status: string; succeeded: string[]; waves: number[] };
    assert.equal(result.status, 'done');
    assert.deepEqual(result.succeeded.sort(), DEVICES);
    assert.deepEqual(result.waves, [1, 2]);
    for (const [id, p] of devices) {
      await p.waitFor((l) => l.type === 'serving' && (l.model as { version: number } | null)?.version === 1, `${id} serves v1`);
      // The runtime infers on the source with the new model.
      await p.waitFor((l) => l.type === 'summary' && (l.frames as number) > 0 && (l.model as { version: number } | null)?.version === 1, `${id} infers with v1`, 30_000);
    }
    const s = await status();
    assert.deepEqual(s.devices.map((d) => d.id), DEVICES);
    for (const id of DEVICES) {
      assert.equal(row(s, id).version, 1, id);
      assert.equal(row(s, id).state, 'in-sync', id);
      assert.equal(row(s, id).online, true, id);
      assert.ok(row(s, id).lastSeen !== null);
    }
    assert.deepEqual(row(s, 'cam-0').tags, ['canary']);
    const text = await cliRun(['fleet', 'status', '-d', srv]);
    assert.match(text.stdout, /cam-1\s+default\s+lab\s+v1\s+v1\s+in-sync/);
  });

  it('rolls back automatically when the watch window sees latency over the budget (latencyBudgetMs 0.001)', async () => {
    const r = await cliRun(['deploy', bundles['v2-slow'], '-d', srv, '--devices', 'cam-1', '--max-failures', '0', '--wave-timeout', '90', '--json']);
    assert.equal(r.status, 1, 'a halted rollout exits 1');
    const result = JSON.parse(r.stdout) as { status: string; failed: Record<string, string> };
    assert.equal(result.status, 'halted');
    assert.deepEqual(result.failed, { 'cam-1': 'WATCH_FAILED' });
    const device = devices.get('cam-1')!;
    const watch = await device.waitFor((l) => l.type === 'watch' && (l.report as { ok: boolean }).ok === false, 'watch report');
    assert.match((watch.report as { reason: string }).reason, /exceeds the latency budget of 0\.001 ms/);
    const rolled = await device.waitFor((l) => l.type === 'event' && (l.event as { phase: string }).phase === 'rolled-back', 'rolled-back event');
    assert.equal((rolled.event as { reason: { code: string } }).reason.code, 'WATCH_FAILED');
    // Serving v1 again, and inference continues on it.
    const back = device.lines.filter((l) => l.type === 'serving').at(-1);
    assert.equal((back?.model as { version: number }).version, 1);
    const s = await status();
    assert.equal(row(s, 'cam-1').version, 1);
    assert.equal(row(s, 'cam-1').lastError?.code, 'WATCH_FAILED');
  });

  it('`edgeloop rollback` sends a device back to its previous bundle (explicit rollback past anti-rollback)', async () => {
    const r = await cliRun(['deploy', bundles.v3, '-d', srv, '--devices', 'cam-2', '--wave-timeout', '90', '--json']);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(row(await status(), 'cam-2').version, 3);
    const back = await cliRun(['rollback', '-d', srv, '--devices', 'cam-2', '--json']);
    assert.equal(back.status, 0, back.stderr);
    const result = JSON.parse(back.stdout) as { rolledBack: Record<string, string> };
    assert.deepEqual(Object.keys(result.rolledBack), ['cam-2']);
    const device = devices.get('cam-2')!;
    await until(() => device.lines.filter((l) => l.type === 'event' && (l.event as { phase: string; version: number }).phase === 'activated' && (l.event as { version: number }).version === 1).length >= 2, 60_000, 'cam-2 re-activated v1');
    await until(async () => row(await status(), 'cam-2').version === 1, 30_000, 'status shows cam-2 on v1');
    const s = await status();
    assert.equal(row(s, 'cam-2').desired?.rollback, true);
    // Anti-rollback still holds for everything else: v1 was not re-downloaded.
    const downloads = device.lines.filter((l) => l.type === 'event' && (l.event as { phase: string; version: number }).phase === 'download-started' && (l.event as { version: number }).version === 1);
    assert.equal(downloads.length, 1);
  });

  it('field samples flow from the device runtime spool to `samples export`, deleted on the device after the ack', async () => {
    const cam0 = devices.get('cam-0')!;
    await cam0.waitFor((l) => l.type === 'sample', 'a spooled sample');
    const indexPath = join(srv, 'samples', 'index.jsonl');
    const index = async (): Promise<SampleIndexEntry[]> => (await readFile(indexPath, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as SampleIndexEntry);
    await until(async () => (await index()).filter((e) => e.deviceId === 'cam-0').length >= 3, 60_000, 'three samples stored');
    const stored = (await index()).filter((e) => e.deviceId === 'cam-0').slice(0, 3);
    // Deleted from the device's spool only after the server's ack.
    const spool = join(root.path, 'devices', 'cam-0', 'spool');
    await until(async () => {
      const names = new Set(await readdir(spool));
      return stored.every((e) => !names.has(`${e.id}.jpg`) && !names.has(`${e.id}.json`));
    }, 30_000, 'acked samples removed from the spool');

    const out = join(root.path, 'export');
    const r = await cliRun(['samples', 'export', '-d', srv, '-o', out, '--device', 'cam-0', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { exported: number };
    assert.ok(result.exported >= 3);
    for (const entry of stored) {
      const jpg = await readFile(join(out, `${entry.sha256}.jpg`));
      assert.equal(createHash('sha256').update(jpg).digest('hex'), entry.sha256);
      assert.deepEqual([jpg[0], jpg[1], jpg[2]], [0xff, 0xd8, 0xff], 'a JPEG');
      const sidecar = JSON.parse(await readFile(join(out, `${entry.sha256}.json`), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(sidecar).sort(), ['capturedAt', 'deviceId', 'modelVersion', 'prediction', 'reason']);
      assert.equal(sidecar.deviceId, 'cam-0');
      assert.equal(typeof sidecar.modelVersion, 'number');
      assert.match(sidecar.reason as string, /^(low-confidence|small-margin|high-entropy|baseline)(,(low-confidence|small-margin|high-entropy|baseline))*$/);
      assert.equal((sidecar.prediction as { task?: string }).task, 'classification');
      assert.ok(!Number.isNaN(Date.parse(sidecar.capturedAt as string)));
    }
    const list = await cliRun(['samples', 'list', '-d', srv, '--json']);
    assert.ok((JSON.parse(list.stdout) as unknown[]).length >= 3);
    await access(join(out, `${stored[0].sha256}.json`));
  });

  it('commands against a directory no server uses fail with one line', () => {
    const r = cliSync(['deploy', bundles.v1, '-d', join(root.path, 'nowhere')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^edgeloop: .*not a fleet server data directory/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  });
});

describe('edgeloop serve over TLS', { skip: !hasOpenssl() && 'openssl is needed to make a test certificate' }, () => {
  it('serves mqtts:// with --tls-cert/--tls-key; a device provisioned with --ca installs a deployed bundle', async () => {
    const root = await tempDir('cli-tls');
    const processes: CliProcess[] = [];
    try {
      const srv = join(root.path, 'server');
      const keys = generateKeyPair();
      await mkdir(join(srv, 'trust'), { recursive: true });
      await writeFile(join(srv, 'trust', 'release.pub'), keys.publicKeyPem);
      const { keyPath, certPath } = makeTestCertificate(root.path);
      const bundle = join(root.path, 'v1.elb');
      await bundleModel({ model: DIGITS, outPath: bundle, privateKeyPem: keys.privateKeyPem, version: 1, targetProfile: 'raspberry-pi-4', goldenCount: 1 });
      const serve = cli(['serve', '-d', srv, '--host', '127.0.0.1', '--port', '0', '--tls-cert', certPath, '--tls-key', keyPath, '--json']);
      processes.push(serve);
      await until(() => /"url": "mqtts:\/\/127\.0\.0\.1:\d+"/.test(serve.stdout) || serve.child.exitCode !== null, 30_000, 'serve started');
      assert.equal(serve.child.exitCode, null, serve.stderr);
      const config = join(root.path, 'tls-0.json');
      const r = await cliRun(['device', 'provision', 'tls-0', '-d', srv, '-o', config, '--ca', certPath, '--profile', 'raspberry-pi-4']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /provisioned tls-0 \(fleet default\) for mqtts:\/\/127\.0\.0\.1:\d+/);
      const device = cli(['device', '-c', config, '-d', join(root.path, 'device'), '--no-sampling', '--json']);
      processes.push(device);
      await device.waitFor((l) => l.type === 'started', 'device started');
      const deployed = await cliRun(['deploy', bundle, '-d', srv, '--wave-timeout', '60', '--json']);
      assert.equal(deployed.status, 0, deployed.stderr + deployed.stdout);
      assert.deepEqual((JSON.parse(deployed.stdout) as { succeeded: string[] }).succeeded, ['tls-0']);
      await device.waitFor((l) => l.type === 'serving' && (l.model as { version: number } | null)?.version === 1, 'serving v1 over TLS');
    } finally {
      for (const p of processes.reverse()) await stopChild(p.child);
      await root.remove();
    }
  });
});

describe('fleet commands --help', () => {
  for (const cmd of [['serve'], ['device'], ['device', 'provision'], ['deploy'], ['rollback'], ['fleet', 'status'], ['samples', 'list'], ['samples', 'export']]) {
    it(`${cmd.join(' ')} --help exits 0 and describes usage`, () => {
      const r = cliSync([...cmd, '--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`edgeloop ${cmd.join(' ')}`));
      assert.match(r.stdout, /--data-dir|--config/);
    });
  }
  it('a usage error is one line with exit code 2', () => {
    const r = cliSync(['deploy', 'x.elb', '-d', '/nonexistent', '--fleet', 'a', '--tag', 'b']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    assert.match(r.stderr, /^edgeloop: name at most one of --fleet, --devices and --tag/);
  });
});
