// `edgeloop train --checkpoint`: a run killed with SIGKILL resumes from its checkpoint when the
// same command is run again; a checkpoint of another configuration is refused in one line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDigitImages } from '@edgeloop/distill';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const ENV = { ...process.env, EDGELOOP_DEBUG: '' };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;

function edgeloop(args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: ENV, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Batch 8 on 20 digits per class: a few tenths of a second per epoch, so the kill after the first
// checkpoint lands well before the fourth epoch ends.
const trainArgs = (overrides: { epochs?: string; lr?: string; data?: string } = {}): string[] => [
  'train', '--data', overrides.data ?? 'digits', '--arch', 'conv-small', '--size', '28', '--color', 'GRAY', '--threads', '1',
  '--epochs', overrides.epochs ?? '4', '--batch-size', '8', '--lr', overrides.lr ?? '0.05', '--checkpoint', 'ck.ckpt', '-o', 'model.onnx', '--json',
];

/** The same as `edgeloop`, without blocking: the refused runs go side by side. */
function edgeloopAsync(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function refusal(r: Run): string {
  assert.equal(r.status, 1, `exit ${r.status}\nstderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('edgeloop: '));
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  return lines[0];
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-resume-'));
  await writeDigitImages(join(dir, 'digits'), { perClass: 20, seed: 3 });
  await writeDigitImages(join(dir, 'other-digits'), { perClass: 20, seed: 4 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('edgeloop train --checkpoint', () => {
  it('killed with SIGKILL after a checkpoint, the same command resumes; other configurations are refused; --keep-checkpoint keeps it', async () => {
    const ck = join(dir, 'ck.ckpt');
    const child = spawn(process.execPath, [CLI, ...trainArgs()], { cwd: dir, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    const deadline = Date.now() + 40_000;
    while (!existsSync(ck) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(ck), `no checkpoint appeared\nstderr: ${stderr}`);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', `the run ended before the kill\nstderr: ${stderr}`);
    assert.ok(!existsSync(join(dir, 'model.onnx')), 'killed before the model was written');
    const saved = readFileSync(ck);

    // Another configuration: refused by name, the checkpoint left as it was.
    // Side by side with them (another checkpoint file): a one-epoch run with --keep-checkpoint.
    const keepArgs = [...trainArgs({ epochs: '1' }).map((a) => (a === 'ck.ckpt' ? 'keep.ckpt' : a === 'model.onnx' ? 'kept.onnx' : a)), '--keep-checkpoint'];
    const [keep, ...refused] = await Promise.all([keepArgs, trainArgs({ epochs: '5' }), trainArgs({ lr: '0.1' }), trainArgs({ data: 'other-digits' })].map(edgeloopAsync));
    const [epochs, lr, data] = refused.map(refusal);
    assert.equal(keep.status, 0, keep.stderr);
    assert.deepEqual((JSON.parse(keep.stdout) as { checkpoint?: unknown }).checkpoint, { path: 'keep.ckpt', kept: true }, '--keep-checkpoint keeps the file');
    assert.ok(existsSync(join(dir, 'keep.ckpt')) && existsSync(join(dir, 'kept.onnx')));
    assert.match(epochs, /^edgeloop: checkpoint ck\.ckpt: written by a different run \(epochs 4 in the checkpoint, 5 now\); delete it or use another checkpoint file$/);
    assert.match(lr, /learningRate 0\.05 in the checkpoint, 0\.1 now/);
    assert.doesNotMatch(lr, /epochs/);
    assert.match(data, /written by a different run \(.*data differs.*\)/);
    assert.deepEqual(readFileSync(ck), saved, 'a refused run leaves the checkpoint alone');

    // The same command: resumes, finishes, removes the checkpoint.
    const resumed = edgeloop(trainArgs());
    assert.equal(resumed.status, 0, resumed.stderr);
    const m = /resumed from epoch (\d+) of 4/.exec(resumed.stderr);
    assert.ok(m, resumed.stderr);
    const k = Number(m[1]);
    assert.ok(k >= 1 && k <= 4, `resumed from epoch ${k}`);
    const result = JSON.parse(resumed.stdout) as { resumedFromEpoch?: number; history: { epoch: number }[]; checkpoint?: { path: string; kept: boolean } };
    assert.equal(result.resumedFromEpoch, k);
    assert.deepEqual(result.history.map((h) => h.epoch), [0, 1, 2, 3], 'the history spans both processes');
    assert.deepEqual(result.checkpoint, { path: 'ck.ckpt', kept: false });
    assert.ok(!existsSync(ck), 'the checkpoint is removed once the model is written');
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp')), [], 'no temp files left');
    const inspect = edgeloop(['inspect', 'model.onnx', '--json']);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.equal((JSON.parse(inspect.stdout) as { outputs: { shape: unknown[] }[] }).outputs[0].shape[1], 10);
  });
});
