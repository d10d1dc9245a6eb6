// `edgeloop demo --quick --json` end to end as a child process: teacher, v1, compile, three device
// processes, field samples, v2, canary rollout; then Ctrl-C in the middle of a run stops every
// child process the demo started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { tempDir, until } from './ota-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'packages/cli/dist/main.js');
// The teacher cache is shared with `npm run demo` so a warm machine skips teacher training.
const CACHE = join(ROOT, '.work', 'demo-cache');

interface Report {
  seconds: number;
  allOnV2: boolean;
  fieldAccuracy: { teacher: number; v1: number; v2: number; frames: number };
  cleanAccuracy: { teacher: number; v1: number; v2: number };
  bundles: { version: number; bytes: number; int8LatencyMsP50: number; fp32LatencyMsP50: number }[];
  bytes: { bundlesDownloaded: number; samplesUploaded: number; perDevice: Record<string, number> };
  devices: { id: string; version: number | null; latencyMsP50: number | null }[];
  samples: { captured: number; stored: number; exported: number; stillSpooled: number; lost: number };
  deploys: { version: number; canary: string | null; waves: number[] }[];
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PIDs of the processes whose parent is `pid` (Linux /proc). */
async function childPids(pid: number): Promise<number[]> {
  const { readFile, readdir } = await import('node:fs/promises');
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) out.push(Number(name));
  }
  return out;
}

describe('edgeloop demo', () => {
  const dirs: { remove(): Promise<void> }[] = [];
  after(async () => {
    for (const d of dirs) await d.remove();
  });

  it('--quick --json: all three agents end on v2, no sample lost, v2 beats v1 on the field frames', { timeout: 600_000 }, async () => {
    const work = await tempDir('demo');
    dirs.push(work);
    const child = spawn(process.execPath, [CLI, 'demo', '--quick', '--json', '--work-dir', join(work.path, 'demo'), '--cache-dir', CACHE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr.slice(-4000));
    const r = JSON.parse(stdout) as Report;
    assert.equal(r.allOnV2, true);
    assert.deepEqual(r.devices.map((d) => [d.id, d.version]), [['cam-0', 2], ['cam-1', 2], ['cam-2', 2]]);
    for (const d of r.devices) assert.ok(d.latencyMsP50 !== null && d.latencyMsP50 > 0, `${d.id} latency`);
    assert.equal(r.samples.lost, 0);
    assert.ok(r.samples.captured > 0 && r.samples.stored > 0 && r.samples.exported > 0);
    assert.ok(r.samples.stored + r.samples.stillSpooled === r.samples.captured);
    assert.ok(r.fieldAccuracy.v2 > r.fieldAccuracy.v1, `v2 ${r.fieldAccuracy.v2} should beat v1 ${r.fieldAccuracy.v1} on the field`);
    for (const v of [r.fieldAccuracy.teacher, r.fieldAccuracy.v1, r.fieldAccuracy.v2, r.cleanAccuracy.v1, r.cleanAccuracy.v2]) assert.ok(v >= 0 && v <= 1);
    assert.ok(r.fieldAccuracy.frames > 0);
    assert.equal(r.bundles.length, 2);
    for (const b of r.bundles) assert.ok(b.bytes > 0 && b.int8LatencyMsP50 > 0 && b.fp32LatencyMsP50 > 0);
    // Each device downloaded both bundles.
    const bundleBytes = r.bundles.reduce((n, b) => n + b.bytes, 0);
    assert.ok(r.bytes.bundlesDownloaded >= 3 * bundleBytes * 0.9, `bytes down ${r.bytes.bundlesDownloaded} vs bundles ${bundleBytes}`);
    assert.ok(r.bytes.samplesUploaded > 0);
    assert.equal(r.deploys[1].canary, '34%');
    assert.ok(r.deploys[1].waves.length >= 2, 'v2 went out in a canary wave, then the rest');
  });

  it('SIGINT mid-run stops every child process the demo started', { timeout: 600_000 }, async () => {
    const work = await tempDir('demo-sigint');
    dirs.push(work);
    const child = spawn(process.execPath, [CLI, 'demo', '--quick', '--work-dir', join(work.path, 'demo'), '--cache-dir', CACHE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Interrupt once the devices run (children exist), and remember them first.
    await until(() => /server on mqtt:/.test(stdout) || child.exitCode !== null, 420_000, 'the demo fleet to start');
    assert.equal(child.exitCode, null, stdout);
    const children = await childPids(child.pid!);
    assert.ok(children.length >= 4, `serve + 3 devices running, found ${children.length}`);
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, stdout.slice(-2000));
    await until(() => children.every((pid) => !processAlive(pid)), 15_000, 'no child process survives');
  });
});
